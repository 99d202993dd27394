/* net.c — see net.h. */
#include "util/net.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
net_listen(const char *addr, struct err *e)
{
	char host[256], port[16];
	const char *colon = strrchr(addr, ':');
	struct addrinfo hints = {0}, *res = NULL;
	int fd = -1, one = 1, rc;

	if (colon == NULL || (size_t)(colon - addr) >= sizeof(host) ||
	    strlen(colon + 1) >= sizeof(port))
		return err_set(e, 400, "InvalidConfiguration",
		               "bad listen address '%s' (want HOST:PORT)", addr);
	snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
	snprintf(port, sizeof(port), "%s", colon + 1);
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res)) != 0)
		return err_set(e, 400, "InvalidConfiguration", "listen address '%s': %s", addr,
		               gai_strerror(rc));
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
		err_set(e, 500, "InvalidConfiguration", "cannot listen on %s: %s", addr,
		        strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return fd;
}
