/*
 * cx.c - Cx registration state: S-CSCF name per IMPI (TS 29.228 §6.1.2,
 * §6.2.1, §6.2.2) and the User-Data profile of a SAA (TS 29.228 Annex E).
 */
#include "aka/cx.h"

#include <pthread.h>
#include <string.h>

#include <lmdb.h>

#include "core/err.h"
#include "core/log.h"
#include "store/store.h"

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

/* TS 29.228 §6.1.2.1 table; returns 1 when the type sets a state/name. */
static int
sar_transition(enum akv_cx_state cur, const char *cur_name, size_t cur_name_len,
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
int
akv_cx_sar_apply(enum akv_cx_state cur, const char *cur_name, size_t cur_name_len,
		 struct akv_cx_req *cx)
{
	int rc = sar_transition(cur, cur_name, cur_name_len, cx);

	/* A re-registration by the same S-CSCF (most SARs, and nearly all of
	 * a re-registration storm) leaves state and name as they are: nothing
	 * to write, so no commit and no fsync. */
	if (rc == 1 && cx->state == cur && cx->assigned_len == cur_name_len &&
	    !memcmp(cx->assigned, cur_name, cur_name_len))
		return 0;
	return rc;
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

/* XML 1.0 §2.4: escape the characters that would end text content. Runs
 * without them are copied whole: a SAA renders this for every identity. */
static void
put_esc(struct xbuf *b, const char *s, size_t n)
{
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		const char *ent;

		switch (s[i]) {
		case '<': ent = "&lt;"; break;
		case '>': ent = "&gt;"; break;
		case '&': ent = "&amp;"; break;
		case '"': ent = "&quot;"; break;
		case '\'': ent = "&apos;"; break;
		default: continue;
		}
		put(b, s + run, i - run);
		put(b, ent, strlen(ent));
		run = i + 1;
	}
	put(b, s + run, n - run);
}

/* Copies [s, s+n) with "%PRIVATE%" and (when impu != NULL) "%IMPU%" replaced.
 * The text between markers is copied in one piece (memchr to the next '%'):
 * byte by byte it was the largest cost of a SAA in the front end. */
static void
put_subst(struct xbuf *b, const char *s, size_t n, const char *impi, size_t impi_len,
	  const char *impu)
{
	static const char tp[] = "%PRIVATE%", tu[] = "%IMPU%";
	size_t i = 0;

	while (i < n) {
		const char *pct = memchr(s + i, '%', n - i);
		size_t lit = pct ? (size_t)(pct - (s + i)) : n - i;

		put(b, s + i, lit);
		i += lit;
		if (i == n)
			break;
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

/* Record in the "cx_reg" database, keyed by IMPI:
 *   u8 version (1) | u8 state | u16 LE name length | u64 LE ms of the last
 *   change of state or name | name */
#define REG_DB	   "cx_reg"
#define REG_VER	   1
#define REG_HDR	   12

struct reg {
	uint8_t state;
	uint16_t name_len;
	char name[AKV_CX_NAME_MAX + 1];
};

/* One handle per store: LMDB dbi handles are environment-wide and stay
 * valid until the environment closes, and akv_store_dbi_open() costs a write
 * transaction, so the handle is opened once and cached. A server has one
 * store for its whole life; should a process close a store and open another
 * at the same address, the cached number is still right because the store
 * opens its own databases in a fixed order before any sibling's. */
static pthread_mutex_t dbi_lock = PTHREAD_MUTEX_INITIALIZER;
static struct akv_store *dbi_store;
static MDB_dbi dbi_cached;

static int
reg_dbi(struct akv_store *st, MDB_dbi *dbi)
{
	int rc = 0;

	pthread_mutex_lock(&dbi_lock);
	if (dbi_store != st) {
		rc = akv_store_dbi_open(st, REG_DB, 0, &dbi_cached);
		if (!rc)
			dbi_store = st;
	}
	*dbi = dbi_cached;
	pthread_mutex_unlock(&dbi_lock);
	return rc;
}

/* Reads impi's registration record in txn, the batch's read snapshot. */
static int
reg_get(MDB_txn *txn, MDB_dbi dbi, const char *impi, size_t len, struct reg *g)
{
	MDB_val k = { len, (void *)impi }, v;
	int rc;

	memset(g, 0, sizeof(*g));
	rc = mdb_get(txn, dbi, &k, &v);
	if (rc == 0) {
		const uint8_t *p = v.mv_data;
		size_t nl = v.mv_size >= REG_HDR ? (size_t)(p[2] | p[3] << 8) : 0;

		/* A record this version cannot read is treated as corrupt. */
		if (v.mv_size < REG_HDR || p[0] != REG_VER || p[1] > AKV_CX_UNREGISTERED ||
		    nl > AKV_CX_NAME_MAX || v.mv_size != REG_HDR + nl) {
			rc = AKV_ESTORE;
		} else {
			g->state = p[1];
			g->name_len = (uint16_t)nl;
			memcpy(g->name, p + REG_HDR, nl);
			g->name[nl] = '\0';
		}
	} else if (rc == MDB_NOTFOUND) {
		rc = 0;	/* never registered */
	} else {
		rc = akv_store_mdb_err(rc);
	}
	return rc;
}

/* Writes req's new registration record inside txn (deletes it for
 * NOT_REGISTERED). */
static int
reg_put(MDB_txn *txn, MDB_dbi dbi, const struct akv_eng_req *req, uint64_t now_ms)
{
	const struct akv_cx_req *cx = req->cx;
	uint8_t buf[REG_HDR + AKV_CX_NAME_MAX];
	MDB_val k = { req->impi_len, (void *)req->impi }, v = { REG_HDR + cx->assigned_len, buf };
	int rc;

	buf[0] = REG_VER;
	buf[1] = cx->state;
	buf[2] = (uint8_t)cx->assigned_len;
	buf[3] = (uint8_t)(cx->assigned_len >> 8);
	for (int i = 0; i < 8; i++)
		buf[4 + i] = (uint8_t)(now_ms >> (8 * i));
	memcpy(buf + REG_HDR, cx->assigned, cx->assigned_len);
	if (cx->state == AKV_CX_NOT_REGISTERED) {
		rc = mdb_del(txn, dbi, &k, NULL);
		if (rc == MDB_NOTFOUND)
			rc = 0;
	} else {
		rc = mdb_put(txn, dbi, &k, &v, 0);
	}
	return rc ? akv_store_mdb_err(rc) : 0;
}

/* The subscriber's IMPUs into cx->impus, NUL-separated. */
static void
list_impus(const struct akv_sub *s, struct akv_cx_req *cx)
{
	size_t used = 0;

	cx->nimpus = 0;
	for (unsigned i = 0; i < s->nimpu && i < AKV_CX_IMPUS_MAX; i++) {
		size_t n = s->impu_len[i];

		if (used + n + 1 > sizeof(cx->impus))
			break;
		memcpy(cx->impus + used, s->impu[i], n);
		cx->impus[used + n] = '\0';
		used += n + 1;
		cx->nimpus++;
	}
	cx->impus_len = (uint16_t)used;
}

static int
has_impu(const struct akv_sub *s, const char *impu, size_t len)
{
	for (unsigned i = 0; i < s->nimpu && i < AKV_STORE_MAX_IMPUS; i++)
		if (s->impu_len[i] == len && !memcmp(s->impu[i], impu, len))
			return 1;
	return 0;
}

/* Finds the subscriber (by IMPI, or by IMPU through the store's index when
 * no IMPI came: LIR, or a SAR with only Public-Identity) and checks the
 * IMPU belongs to it. Returns 0, a Cx experimental code (> 0), or an error. */
static int
find_user(struct akv_store_reader *rd, struct akv_eng_req *req, struct akv_sub *sub)
{
	int rc;

	if (!req->impi_len) {
		size_t n = 0;

		if (!req->impu_len)
			return AKV_CX_EXP_USER_UNKNOWN;
		rc = akv_store_reader_impu(rd, req->impu, req->impu_len, req->impi, &n);
		if (rc == AKV_ENOTFOUND || rc == AKV_EINVAL)
			return AKV_CX_EXP_USER_UNKNOWN;
		if (rc)
			return rc;
		req->impi_len = (uint16_t)n;
	}
	rc = akv_store_reader_get(rd, req->impi, req->impi_len, sub);
	if (rc == AKV_ENOTFOUND || rc == AKV_EINVAL)
		return AKV_CX_EXP_USER_UNKNOWN;
	if (rc)
		return rc;
	/* TS 29.228 §6.1.2.1 / §6.2.1.1: the IMPU must belong to the IMPI. */
	if (req->impu_len && !has_impu(sub, req->impu, req->impu_len))
		return AKV_CX_EXP_IDENTITIES_DONT_MATCH;
	return 0;
}

/* The state an earlier request of this batch left for req's IMPI, not yet
 * committed (requests of one batch run in order), or NULL. */
static const struct akv_cx_req *
batch_state(struct akv_eng_req *const *changed, size_t nchanged, const struct akv_eng_req *req)
{
	for (size_t i = nchanged; i-- > 0;)
		if (changed[i]->impi_len == req->impi_len &&
		    !memcmp(changed[i]->impi, req->impi, req->impi_len))
			return changed[i]->cx;
	return NULL;
}

/* Decides one request against the stored state, or the batch's newer state
 * (*read_batch = 1 then). Returns 1 when its SAR must be written, else 0;
 * failures are in req->err / req->cx. */
static int
cx_decide(struct akv_store_reader *rd, MDB_dbi dbi, struct akv_eng_req *req,
	  struct akv_eng_req *const *changed, size_t nchanged, int *read_batch)
{
	struct akv_cx_req *cx = req->cx;
	const struct akv_cx_req *newer;
	struct akv_sub sub;
	struct reg g;
	int rc, write = 0;

	*read_batch = 0;
	req->err = 0;
	if (!cx) {
		req->err = AKV_EINVAL;
		return 0;
	}
	cx->result_code = cx->exp_code = 0;
	cx->assigned_len = 0;
	cx->assigned[0] = '\0';
	cx->nimpus = cx->impus_len = 0;
	cx->want_user_data = 0;
	rc = find_user(rd, req, &sub);
	if (rc > 0) {
		cx->exp_code = (uint32_t)rc;
		goto out;
	}
	if (rc < 0 ||
	    (rc = reg_get(akv_store_reader_txn(rd), dbi, req->impi, req->impi_len, &g)) < 0) {
		req->err = rc;
		goto out;
	}
	if ((newer = batch_state(changed, nchanged, req))) {
		g.state = newer->state;
		g.name_len = newer->assigned_len;
		memcpy(g.name, newer->assigned, newer->assigned_len + 1);
		*read_batch = 1;
	}
	switch (req->op) {
	case AKV_OP_SAR:
		write = akv_cx_sar_apply(g.state, g.name, g.name_len, cx) == 1;
		if (cx->want_user_data)
			list_impus(&sub, cx);
		break;
	case AKV_OP_UAR:
		akv_cx_uar_apply(g.state, g.name, g.name_len, cx);
		break;
	case AKV_OP_LIR:
		akv_cx_lir_apply(g.state, g.name, g.name_len, cx);
		break;
	default:
		req->err = AKV_EUNKNOWN_OP;
		break;
	}
out:
	akv_store_sub_wipe(&sub);
	return write;
}

/* Writes the changed records of a batch in one commit. When it fails, every
 * request that changed a record or read a changed one gets the error. */
static void
commit_batch(struct akv_store *st, MDB_dbi dbi, struct akv_eng_req *const *reqs, size_t n,
	     struct akv_eng_req *const *changed, size_t nchanged, const uint8_t *read_batch,
	     uint64_t now_ms)
{
	MDB_txn *txn = NULL;
	int rc = akv_store_txn_begin(st, 0, &txn);

	if (!rc) {
		for (size_t i = 0; !rc && i < nchanged; i++)
			rc = reg_put(txn, dbi, changed[i], now_ms);
		if (!rc)
			rc = akv_store_txn_commit(st, txn, 1);
		else
			akv_store_txn_abort(st, txn);
	}
	if (!rc)
		return;
	for (size_t i = 0; i < nchanged; i++)
		changed[i]->err = rc;
	for (size_t i = 0; i < n; i++)
		if (read_batch[i])
			reqs[i]->err = rc;
}

/* see cx.h */
void
akv_cx_run_batch(struct akv_eng *e, struct akv_eng_req *const *reqs, size_t n, uint64_t now_ms)
{
	struct akv_store *st = akv_eng_store(e);
	struct akv_store_reader *rd = akv_eng_reader(e);
	struct akv_eng_req *changed[AKV_CX_BATCH_MAX];
	uint8_t read_batch[AKV_CX_BATCH_MAX];
	size_t nchanged = 0;
	MDB_dbi dbi;
	int rc = AKV_EINVAL;

	AKV_ASSERT(n <= AKV_CX_BATCH_MAX);
	if (!n)
		return;
	memset(changed, 0, sizeof(changed));
	if (!st || !rd || (rc = reg_dbi(st, &dbi)) < 0) {
		for (size_t i = 0; i < n; i++)
			reqs[i]->err = rc;
		return;
	}
	/* One read snapshot for the whole batch: a transaction per lookup (two
	 * per request) took an LMDB reader slot under its mutex each time and
	 * was most of a SAR's cost in the worker (perf of `load --op
	 * register`). Changes of earlier requests of the batch are seen
	 * through batch_state(), so the snapshot's age does not matter. */
	if ((rc = akv_store_reader_begin(rd)) < 0 || !akv_store_reader_txn(rd)) {
		akv_store_reader_end(rd);
		for (size_t i = 0; i < n; i++)
			reqs[i]->err = rc < 0 ? rc : AKV_ESTORE;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		int rb;

		if (cx_decide(rd, dbi, reqs[i], changed, nchanged, &rb))
			changed[nchanged++] = reqs[i];
		read_batch[i] = (uint8_t)rb;
	}
	akv_store_reader_end(rd);
	if (nchanged)
		commit_batch(st, dbi, reqs, n, changed, nchanged, read_batch, now_ms);
}
