/*
 * address.h — e-mail addresses as SES sees them: RFC 5322 mailboxes (with
 * RFC 2047 encoded display names) parsed into a display name and an
 * addr-spec, the addr-spec checked against RFC 5321 limits, and domains
 * checked for VerifyDomainIdentity.
 *
 * Everything here is pure (core/): no I/O, no globals. Errors are
 * InvalidParameterValue (HTTP 400) with SES's own wording where SES has one
 * ("Missing final '@domain'", "Local address contains illegal character",
 * "Domain contains illegal character", "Domain ends with dot", ...). The
 * rules, and where they differ from the RFCs and from SES, are written down
 * in docs/internals/address.md.
 */
#ifndef SESAME_CORE_ADDRESS_H
#define SESAME_CORE_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

#define ADDRESS_LOCAL_MAX 64    /* RFC 5321 4.5.3.1.1 */
#define ADDRESS_DOMAIN_MAX 253  /* RFC 1035 (255 on the wire, no trailing dot) */
#define ADDRESS_LABEL_MAX 63    /* RFC 1035 */
#define ADDRESS_SPEC_MAX 254    /* RFC 5321 path 256 minus "<" ">" */
#define ADDRESS_NAME_MAX 512    /* decoded display name, UTF-8 bytes */
#define ADDRESS_INPUT_MAX 2048  /* one mailbox as written (address_parse) */
#define ADDRESS_LIST_INPUT_MAX 65536 /* one header field body (address_parse_list) */

struct address {
	char name[ADDRESS_NAME_MAX + 1];     /* display name, UTF-8, decoded, trimmed; "" if none */
	char local[ADDRESS_LOCAL_MAX + 1];   /* local part, canonical: quoted only when it must be */
	char domain[ADDRESS_DOMAIN_MAX + 1]; /* ASCII; IDN labels as A-labels; ASCII case as given */
	char spec[ADDRESS_SPEC_MAX + 1];     /* local "@" domain */
	bool idn;                            /* a UTF-8 domain was converted to A-labels */
};

/*
 * Parse one mailbox: `"Name" <local@domain>`, `Name <local@domain>`,
 * `<local@domain>` or a bare `local@domain`, with comments allowed around it.
 * Input is n bytes (need not be NUL-terminated), at most ADDRESS_INPUT_MAX.
 * CR, LF, NUL and other control bytes are refused anywhere. Fills *out;
 * on error returns -1 with InvalidParameterValue in e.
 */
int address_parse(const char *s, size_t n, struct address *out, struct err *e);

/*
 * Parse a bare addr-spec only (no display name, angle brackets, comments or
 * whitespace): identity names, SMTP envelope paths after the "<>" are gone.
 */
int address_parse_spec(const char *s, size_t n, struct address *out, struct err *e);

/*
 * Parse an address-list header body (To:, Cc:, From:, Reply-To: of a raw
 * message): comma-separated mailboxes and groups (`Team: a@x, b@y;`, whose
 * members are flattened; `undisclosed-recipients:;` gives none). Folded
 * lines (CRLF + WSP) are unfolded; any other CR or LF is refused. Empty list
 * elements are skipped. At most `cap` addresses are written to out[]; one
 * more is an error. *n_out gets the count. Input at most ADDRESS_LIST_INPUT_MAX.
 */
int address_parse_list(const char *s, size_t n, struct address *out, size_t cap,
		       size_t *n_out, struct err *e);

/*
 * Append the header form of `a` to `out`: the bare spec when there is no
 * display name, else `Name <spec>`, with the name quoted when it holds
 * specials and RFC 2047 B-encoded (UTF-8) when it holds non-ASCII or "=?".
 * Parsing the result gives back the same name and spec. Returns -1 only
 * when `out` would pass its cap.
 */
int address_format(const struct address *a, struct buf *out);

/*
 * Validate a domain for VerifyDomainIdentity and normalise it into out
 * (cap bytes, ADDRESS_DOMAIN_MAX + 1 is always enough): lower-cased, UTF-8
 * labels converted to A-labels (punycode), one trailing dot dropped. Refuses
 * IP addresses and literals, single-label names, non-LDH labels, labels over
 * 63 and names over 253 bytes.
 */
int domain_validate(const char *d, char *out, size_t cap, struct err *e);

#endif
