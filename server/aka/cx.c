/*
 * cx.c - Cx registration state: S-CSCF name per IMPI (TS 29.228 §6.1.2,
 * §6.2.1, §6.2.2) and the User-Data profile of a SAA (TS 29.228 Annex E).
 */
#include "aka/cx.h"

#include <string.h>

#include "core/err.h"

/* ==== Pure decisions ==== */

static void
set_assigned(struct akv_cx_req *cx, const char *name, size_t len)
{
	if (len > AKV_CX_NAME_MAX)
		len = AKV_CX_NAME_MAX;
	if (len)
		memcpy(cx->assigned, name, len);
	cx->assigned[len] = '\0';
	cx->assigned_len = (uint16_t)len;
}

static void
answer(struct akv_cx_req *cx, uint32_t rc, uint32_t exp)
{
	cx->result_code = rc;
	cx->exp_code = exp;
}

/* see cx.h */
int
akv_cx_sar_apply(enum akv_cx_state cur, const char *cur_name, size_t cur_name_len,
		 struct akv_cx_req *cx)
{
	cx->want_user_data = 0;
	cx->state = (uint8_t)cur;
	set_assigned(cx, cur_name, cur_name_len);
	answer(cx, AKV_CX_RC_SUCCESS, 0);

	switch (cx->sat) {
	case AKV_CX_SAT_NO_ASSIGNMENT:
		/* §6.1.2.1: only a request for the profile; state unchanged. */
		cx->want_user_data = 1;
		return 0;
	case AKV_CX_SAT_REGISTRATION:
	case AKV_CX_SAT_RE_REGISTRATION:
		/* Record the S-CSCF name, registered, and download the profile
		 * (Kamailio needs User-Data on every SAA of a registration). */
		cx->state = AKV_CX_REGISTERED;
		set_assigned(cx, cx->server_name, cx->server_name_len);
		cx->want_user_data = 1;
		return 1;
	case AKV_CX_SAT_UNREGISTERED_USER:
		/* Terminating request to an unregistered user: keep the name for
		 * unregistered services. */
		cx->state = AKV_CX_UNREGISTERED;
		set_assigned(cx, cx->server_name, cx->server_name_len);
		cx->want_user_data = 1;
		return 1;
	case AKV_CX_SAT_TIMEOUT_DEREGISTRATION:
	case AKV_CX_SAT_USER_DEREGISTRATION:
	case AKV_CX_SAT_ADMINISTRATIVE_DEREGISTRATION:
	case AKV_CX_SAT_DEREGISTRATION_TOO_MUCH_DATA:
		/* Deregistration: the HSS clears the stored S-CSCF name. */
		cx->state = AKV_CX_NOT_REGISTERED;
		set_assigned(cx, "", 0);
		return 1;
	case AKV_CX_SAT_TIMEOUT_DEREG_STORE_NAME:
	case AKV_CX_SAT_USER_DEREG_STORE_NAME:
		/* Deregistered, but the S-CSCF asked the HSS to keep its name. */
		cx->state = AKV_CX_UNREGISTERED;
		set_assigned(cx, cx->server_name, cx->server_name_len);
		return 1;
	case AKV_CX_SAT_AUTHENTICATION_FAILURE:
	case AKV_CX_SAT_AUTHENTICATION_TIMEOUT:
		/* §6.1.2.1: a registered user stays registered; otherwise the
		 * name stored by the MAR/registration attempt is cleared. */
		if (cur == AKV_CX_REGISTERED)
			return 0;
		cx->state = AKV_CX_NOT_REGISTERED;
		set_assigned(cx, "", 0);
		return 1;
	default:
		/* 12..14 are SWx-only; anything else is not in the enumeration. */
		if (cx->sat <= 14)
			answer(cx, 0, AKV_CX_EXP_ERROR_IN_ASSIGNMENT_TYPE);
		else
			answer(cx, AKV_CX_RC_INVALID_AVP_VALUE, 0);
		return -1;
	}
}

/* see cx.h */
void
akv_cx_uar_apply(enum akv_cx_state cur, const char *cur_name, size_t cur_name_len,
		 struct akv_cx_req *cx)
{
	cx->state = (uint8_t)cur;
	cx->want_user_data = 0;
	set_assigned(cx, "", 0);
	switch (cx->uat) {
	case AKV_CX_UAT_DE_REGISTRATION:
		/* §6.2.1.1: de-registration needs a registered (or stored) user. */
		if (cur == AKV_CX_NOT_REGISTERED) {
			answer(cx, 0, AKV_CX_EXP_IDENTITY_NOT_REGISTERED);
			return;
		}
		set_assigned(cx, cur_name, cur_name_len);
		answer(cx, AKV_CX_RC_SUCCESS, 0);
		return;
	case AKV_CX_UAT_REGISTRATION:
		if (cur != AKV_CX_NOT_REGISTERED && cur_name_len) {
			set_assigned(cx, cur_name, cur_name_len);
			answer(cx, 0, AKV_CX_EXP_SUBSEQUENT_REGISTRATION);
			return;
		}
		answer(cx, 0, AKV_CX_EXP_FIRST_REGISTRATION);
		return;
	case AKV_CX_UAT_REGISTRATION_AND_CAPABILITIES:
		/* The I-CSCF wants capabilities to pick a new S-CSCF. */
		answer(cx, 0, AKV_CX_EXP_FIRST_REGISTRATION);
		return;
	default:
		answer(cx, AKV_CX_RC_INVALID_AVP_VALUE, 0);
		return;
	}
}

/* see cx.h */
void
akv_cx_lir_apply(enum akv_cx_state cur, const char *cur_name, size_t cur_name_len,
		 struct akv_cx_req *cx)
{
	cx->state = (uint8_t)cur;
	cx->want_user_data = 0;
	set_assigned(cx, "", 0);
	if (cur != AKV_CX_NOT_REGISTERED && cur_name_len) {
		/* §6.2.2.1: registered or unregistered-with-name: route there. */
		set_assigned(cx, cur_name, cur_name_len);
		answer(cx, AKV_CX_RC_SUCCESS, 0);
		return;
	}
	/* No S-CSCF: the I-CSCF selects one for unregistered services. */
	answer(cx, 0, AKV_CX_EXP_UNREGISTERED_SERVICE);
}

/* ==== User-Data XML ==== */

static const char default_tmpl[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	"<IMSSubscription><PrivateID>%PRIVATE%</PrivateID>"
	"<ServiceProfile>%IMPU{<PublicIdentity><Identity>%IMPU%</Identity></PublicIdentity>}%"
	"</ServiceProfile></IMSSubscription>";

/* see cx.h */
const char *
akv_cx_default_template(void)
{
	return default_tmpl;
}

struct xbuf {
	char *p;
	size_t len, cap;
	int over;
};

static void
put(struct xbuf *b, const char *s, size_t n)
{
	if (b->over || n > b->cap - b->len - 1) {
		b->over = 1;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* XML 1.0 §2.4: escape the characters that would end text content. */
static void
put_esc(struct xbuf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '<': put(b, "&lt;", 4); break;
		case '>': put(b, "&gt;", 4); break;
		case '&': put(b, "&amp;", 5); break;
		case '"': put(b, "&quot;", 6); break;
		case '\'': put(b, "&apos;", 6); break;
		default: put(b, s + i, 1); break;
		}
	}
}

/* Copies [s, s+n) with "%PRIVATE%" and (when impu != NULL) "%IMPU%" replaced. */
static void
put_subst(struct xbuf *b, const char *s, size_t n, const char *impi, size_t impi_len,
	  const char *impu)
{
	static const char tp[] = "%PRIVATE%", tu[] = "%IMPU%";
	size_t i = 0;

	while (i < n) {
		if (n - i >= sizeof(tp) - 1 && !memcmp(s + i, tp, sizeof(tp) - 1)) {
			put_esc(b, impi, impi_len);
			i += sizeof(tp) - 1;
		} else if (impu && n - i >= sizeof(tu) - 1 && !memcmp(s + i, tu, sizeof(tu) - 1)) {
			put_esc(b, impu, strlen(impu));
			i += sizeof(tu) - 1;
		} else {
			put(b, s + i, 1);
			i++;
		}
	}
}

/* see cx.h */
int
akv_cx_user_data(const char *tmpl, const char *impi, size_t impi_len, const char *impus,
		 unsigned n, char *out, size_t cap)
{
	struct xbuf b = { out, 0, cap, 0 };
	const char *open, *close;

	if (!tmpl)
		tmpl = default_tmpl;
	if (cap == 0)
		return AKV_ETOOBIG;
	open = strstr(tmpl, "%IMPU{");
	close = open ? strstr(open, "}%") : NULL;
	if (open && !close)
		return AKV_EINVAL;
	if (!open) {
		put_subst(&b, tmpl, strlen(tmpl), impi, impi_len, NULL);
	} else {
		const char *body = open + 6, *p = impus;

		put_subst(&b, tmpl, (size_t)(open - tmpl), impi, impi_len, NULL);
		for (unsigned i = 0; i < n; i++) {
			put_subst(&b, body, (size_t)(close - body), impi, impi_len, p);
			p += strlen(p) + 1;
		}
		put_subst(&b, close + 2, strlen(close + 2), impi, impi_len, NULL);
	}
	if (b.over)
		return AKV_ETOOBIG;
	out[b.len] = '\0';
	return (int)b.len;
}

/* ==== Run against the store ==== */

/* see cx.h */
void
akv_cx_run(struct akv_eng *e, struct akv_eng_req *req, uint64_t now_ms)
{
	(void)e;
	(void)now_ms;
	/* The registration-state sub-database needs the store's accessor
	 * (server/store/store.h), which has not landed yet: answer
	 * UNABLE_TO_COMPLY through err until it is wired. */
	req->err = AKV_ESTORE;
}
