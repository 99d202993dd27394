/*
 * build.c — SendEmail's message, assembled with GMime 3; see build.h.
 *
 * GMime is initialised once per process (pthread_once); after that each
 * call builds its own objects, which GMime allows from any thread (its
 * shared charset/iconv caches are locked inside GMime). Every GMime object
 * made here is unreferenced before return. The inputs were checked by the
 * caller (addresses by core/address), so GMime only formats: names are
 * encoded as RFC 2047 words in UTF-8, the subject in its own charset, and
 * long headers are folded by GMime.
 */
#include "mail/build.h"

#include <errno.h>
#include <gmime/gmime.h>
#include <iconv.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/xalloc.h"

#define CHARSET_MAX 40

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

static void
gmime_init(void)
{
	g_mime_init();
}

void
build_gmime_init(void)
{
	pthread_once(&gmime_once, gmime_init);
}

static bool
is_utf8(const char *cs)
{
	return cs == NULL || strcasecmp(cs, "UTF-8") == 0 || strcasecmp(cs, "utf8") == 0;
}

/* A charset name we are willing to write into a header parameter. */
static int
check_charset(const char *cs, const char *param, struct err *e)
{
	size_t n = strlen(cs);

	if (n == 0 || n > CHARSET_MAX)
		goto bad;
	for (size_t i = 0; i < n; i++) {
		char c = cs[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == ':' || c == '+'))
			goto bad;
	}
	return 0;
bad:
	return err_set(e, 400, "InvalidParameterValue", "Invalid charset for %s: '%.64s'.", param,
		       cs);
}

/*
 * Convert UTF-8 text into `charset`. Returns a malloc'd buffer and its
 * length, or NULL with InvalidParameterValue (unknown charset, or text the
 * charset cannot hold).
 */
static char *
convert(const char *text, const char *charset, const char *param, size_t *len_out,
	struct err *e)
{
	size_t inleft = strlen(text), cap = inleft * 4 + 16, outleft = cap;
	char *out, *in = (char *)text, *op;
	iconv_t cd;

	if (check_charset(charset, param, e) != 0)
		return NULL;
	cd = g_mime_iconv_open(charset, "UTF-8");
	if (cd == (iconv_t)-1) {
		err_set(e, 400, "InvalidParameterValue", "Unknown charset for %s: '%s'.", param,
			charset);
		return NULL;
	}
	out = op = xmalloc(cap);
	while (inleft > 0) {
		if (iconv(cd, &in, &inleft, &op, &outleft) == (size_t)-1) {
			if (errno == E2BIG) {
				size_t used = (size_t)(op - out);
				cap *= 2;
				out = xrealloc(out, cap);
				op = out + used;
				outleft = cap - used;
				continue;
			}
			g_mime_iconv_close(cd);
			free(out);
			err_set(e, 400, "InvalidParameterValue",
				"%s cannot be represented in charset '%s'.", param, charset);
			return NULL;
		}
	}
	/* flush any shift state (stateful encodings such as ISO-2022-JP) */
	while (iconv(cd, NULL, NULL, &op, &outleft) == (size_t)-1 && errno == E2BIG) {
		size_t used = (size_t)(op - out);
		cap *= 2;
		out = xrealloc(out, cap);
		op = out + used;
		outleft = cap - used;
	}
	g_mime_iconv_close(cd);
	*len_out = (size_t)(op - out);
	return out;
}

/* `text` with every line end (CRLF, LF or a lone CR) made CRLF: the
 * canonical form of text parts (RFC 2046 4.1.1), whatever the encoding. */
static char *
crlf(const char *text)
{
	size_t n = strlen(text), extra = 0, j = 0;
	char *out;

	for (size_t i = 0; i < n; i++)
		if ((text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) ||
		    (text[i] == '\r' && text[i + 1] != '\n'))
			extra++;
	out = xmalloc(n + extra + 1);
	for (size_t i = 0; i < n; i++) {
		if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r'))
			out[j++] = '\r';
		out[j++] = text[i];
		if (text[i] == '\r' && text[i + 1] != '\n')
			out[j++] = '\n';
	}
	out[j] = '\0';
	return out;
}

/* A text/<subtype> part holding `text` in `charset`. NULL with e filled. */
static GMimeObject *
text_part(const char *subtype, const char *text, const char *charset, const char *param,
	  struct err *e)
{
	GMimeTextPart *part;
	GMimeStream *stream;
	GMimeDataWrapper *content;
	GMimeContentEncoding enc;
	const char *cs = charset ? charset : "UTF-8";
	char *bytes, *canon;
	size_t len;

	if (charset != NULL && check_charset(charset, param, e) != 0)
		return NULL;
	canon = crlf(text);
	if (is_utf8(charset)) {
		len = strlen(canon);
		bytes = canon;
	} else {
		bytes = convert(canon, charset, param, &len, e);
		free(canon);
		if (bytes == NULL)
			return NULL;
	}
	part = g_mime_text_part_new_with_subtype(subtype);
	stream = g_mime_stream_mem_new_with_buffer(bytes, len);
	free(bytes);
	content = g_mime_data_wrapper_new_with_stream(stream, GMIME_CONTENT_ENCODING_DEFAULT);
	g_object_unref(stream);
	g_mime_part_set_content(GMIME_PART(part), content);
	g_object_unref(content);
	g_mime_object_set_content_type_parameter(GMIME_OBJECT(part), "charset", cs);
	enc = g_mime_part_get_best_content_encoding(GMIME_PART(part),
						     GMIME_ENCODING_CONSTRAINT_7BIT);
	g_mime_part_set_content_encoding(GMIME_PART(part), enc);
	return GMIME_OBJECT(part);
}

static void
add_addresses(GMimeMessage *msg, GMimeAddressType type, const struct address *a, size_t n)
{
	InternetAddressList *list = g_mime_message_get_addresses(msg, type);

	for (size_t i = 0; i < n; i++) {
		InternetAddress *ia = internet_address_mailbox_new(a[i].name[0] ? a[i].name : NULL,
								   a[i].spec);
		internet_address_set_charset(ia, "UTF-8");
		internet_address_list_add(list, ia);
		g_object_unref(ia);
	}
}

static int
check_subject(const char *s, struct err *e)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return err_set(e, 400, "InvalidParameterValue",
				       "Message.Subject.Data must not contain control characters "
				       "(CR or LF included).");
	return 0;
}

int
build_email(const struct build_email *b, struct buf *out, struct err *e)
{
	GMimeMessage *msg = NULL;
	GMimeObject *text = NULL, *html = NULL, *body;
	GMimeFormatOptions *fo = NULL;
	GMimeStream *stream = NULL;
	GByteArray *bytes;
	char *subject_cs = NULL;
	int rc = -1;

	build_gmime_init();
	if (check_subject(b->subject, e) != 0)
		return -1;
	if (b->subject_charset != NULL && check_charset(b->subject_charset, "Message.Subject", e) != 0)
		return -1;
	if (b->text != NULL &&
	    (text = text_part("plain", b->text, b->text_charset, "Message.Body.Text", e)) == NULL)
		goto done;
	if (b->html != NULL &&
	    (html = text_part("html", b->html, b->html_charset, "Message.Body.Html", e)) == NULL)
		goto done;
	if (b->subject_charset != NULL && !is_utf8(b->subject_charset)) {
		/* the subject must be representable in its charset */
		size_t n;
		if ((subject_cs = convert(b->subject, b->subject_charset, "Message.Subject", &n, e)) ==
		    NULL)
			goto done;
	}

	msg = g_mime_message_new(FALSE);
	g_mime_object_set_header(GMIME_OBJECT(msg), "Date", b->date, NULL);
	add_addresses(msg, GMIME_ADDRESS_TYPE_FROM, b->from, b->from != NULL);
	add_addresses(msg, GMIME_ADDRESS_TYPE_REPLY_TO, b->reply_to, b->nreply_to);
	add_addresses(msg, GMIME_ADDRESS_TYPE_TO, b->to, b->nto);
	add_addresses(msg, GMIME_ADDRESS_TYPE_CC, b->cc, b->ncc);
	g_mime_message_set_subject(msg, b->subject,
				   is_utf8(b->subject_charset) ? "UTF-8" : b->subject_charset);
	/* GMime writes the id between angle brackets itself */
	{
		size_t n = strlen(b->message_id);
		char *id = xstrndup(b->message_id + (n > 1 && b->message_id[0] == '<'),
				    n - (n > 1 && b->message_id[0] == '<') -
					    (n > 1 && b->message_id[n - 1] == '>'));
		g_mime_message_set_message_id(msg, id);
		free(id);
	}
	g_mime_object_set_header(GMIME_OBJECT(msg), "MIME-Version", "1.0", NULL);
	if (text != NULL && html != NULL) {
		GMimeMultipart *alt = g_mime_multipart_new_with_subtype("alternative");
		g_mime_multipart_add(alt, text); /* least preferred first (RFC 2046 5.1.4) */
		g_mime_multipart_add(alt, html);
		body = GMIME_OBJECT(alt);
	} else {
		body = text != NULL ? text : html;
		g_object_ref(body);
	}
	g_mime_message_set_mime_part(msg, body);
	g_object_unref(body);

	fo = g_mime_format_options_new();
	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	stream = g_mime_stream_mem_new();
	if (g_mime_object_write_to_stream(GMIME_OBJECT(msg), fo, stream) < 0) {
		err_set(e, 500, "InternalFailure", "The message could not be written.");
		goto done;
	}
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream));
	if (buf_append(out, bytes->data, bytes->len) != 0) {
		err_set(e, 400, "InvalidParameterValue", "The message is too large.");
		goto done;
	}
	rc = 0;
done:
	free(subject_cs);
	if (text != NULL)
		g_object_unref(text);
	if (html != NULL)
		g_object_unref(html);
	if (msg != NULL)
		g_object_unref(msg);
	if (stream != NULL)
		g_object_unref(stream);
	if (fo != NULL)
		g_mime_format_options_free(fo);
	return rc;
}

char *
build_decode_header(const char *value)
{
	char *d, *r;

	build_gmime_init();
	d = g_mime_utils_header_decode_text(NULL, value);
	r = xstrdup(d != NULL ? d : value);
	g_free(d);
	return r;
}

void
build_message_id(const char *region, const char *id, char *out, size_t cap)
{
	if (strcmp(region, "us-east-1") == 0)
		snprintf(out, cap, "<%s@email.amazonses.com>", id);
	else
		snprintf(out, cap, "<%s@%s.amazonses.com>", id, region);
}
