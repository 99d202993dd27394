/* test_net.c — src/util/net.c: a listen address is held exclusively (by
 * our own second bind, and by a foreign socket that sets SO_REUSEPORT),
 * its error names it, net_share gives another descriptor of the same
 * socket that accepts from the same queue, and bad addresses are refused. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/net.h"

static int
port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static int
connect_to(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* accept on a non-blocking listener, waiting up to 2 s */
static int
accept_wait(int lfd)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};

	assert_int_equal(poll(&p, 1, 2000), 1);
	return accept(lfd, NULL, NULL);
}

static void
test_address_is_exclusive(void **state)
{
	struct err e;
	char addr[64];
	(void)state;

	int fd = net_listen("127.0.0.1:0", &e);
	assert_true(fd >= 0);
	int port = port_of(fd);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);

	/* a second sesame */
	memset(&e, 0, sizeof(e));
	assert_int_equal(net_listen(addr, &e), -1);
	char want[128];
	snprintf(want, sizeof(want), "127.0.0.1:%d is already in use (another sesame serve?)",
	         port);
	assert_string_equal(e.message, want);

	/* the wildcard address overlaps it too */
	snprintf(addr, sizeof(addr), "0.0.0.0:%d", port);
	assert_int_equal(net_listen(addr, &e), -1);
	assert_non_null(strstr(e.message, "is already in use"));

	/* a foreign process of the same uid setting SO_REUSEPORT cannot join:
	 * our socket did not set it */
	int one = 1, other = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(setsockopt(other, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
	assert_int_equal(setsockopt(other, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	int rc = bind(other, (struct sockaddr *)&sa, sizeof(sa));
	if (rc == 0)
		rc = listen(other, 1);
	assert_int_equal(rc, -1);
	assert_int_equal(errno, EADDRINUSE);
	close(other);

	/* once closed, the address is free again (SO_REUSEADDR: no TIME_WAIT wait) */
	close(fd);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	fd = net_listen(addr, &e);
	assert_true(fd >= 0);
	close(fd);
}

static void
test_share_accepts_from_one_queue(void **state)
{
	struct err e;
	(void)state;

	int fd = net_listen("127.0.0.1:0", &e);
	assert_true(fd >= 0);
	int dup = net_share(fd, "127.0.0.1:0", &e);
	assert_true(dup >= 0);
	assert_int_not_equal(dup, fd);
	assert_int_equal(port_of(dup), port_of(fd));
	/* non-blocking and close-on-exec, like the original */
	assert_true(fcntl(dup, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(dup, F_GETFD) & FD_CLOEXEC);

	/* two connections: each is accepted exactly once, from either descriptor */
	int c1 = connect_to(port_of(fd)), c2 = connect_to(port_of(fd));
	int a1 = accept_wait(dup), a2 = accept_wait(fd);
	assert_true(a1 >= 0);
	assert_true(a2 >= 0);
	assert_int_equal(accept(fd, NULL, NULL), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	assert_int_equal(accept(dup, NULL, NULL), -1);

	/* closing one descriptor leaves the socket listening on the other */
	close(fd);
	int c3 = connect_to(port_of(dup));
	int a3 = accept_wait(dup);
	assert_true(a3 >= 0);
	for (int i = 0; i < 6; i++)
		close((int[]){c1, c2, c3, a1, a2, a3}[i]);
	close(dup);

	assert_int_equal(net_share(-1, "127.0.0.1:1", &e), -1);
	assert_non_null(strstr(e.message, "cannot share the socket of 127.0.0.1:1"));
}

static void
test_bad_addresses(void **state)
{
	static const struct {
		const char *addr, *msg;
	} rows[] = {
	    {"8787", "bad listen address '8787' (want HOST:PORT)"},
	    {"localhost:8787", "listen address 'localhost:8787': "},
	    {"127.0.0.1:http", "listen address '127.0.0.1:http': "},
	    {"300.0.0.1:1", "listen address '300.0.0.1:1': "},
	};
	struct err e;
	(void)state;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(net_listen(rows[i].addr, &e), -1);
		if (strncmp(e.message, rows[i].msg, strlen(rows[i].msg)) != 0) {
			print_error("row %zu: got '%s'\n", i, e.message);
			fail();
		}
	}
	/* IPv6 in brackets, when the machine has it */
	int fd = net_listen("[::1]:0", &e);
	if (fd >= 0) {
		char addr[64];
		snprintf(addr, sizeof(addr), "[::1]:%d", port_of(fd));
		assert_int_equal(net_listen(addr, &e), -1);
		assert_non_null(strstr(e.message, "is already in use"));
		close(fd);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_address_is_exclusive),
	    cmocka_unit_test(test_share_accepts_from_one_queue),
	    cmocka_unit_test(test_bad_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
