/*
 * cx.c - Cx registration state: S-CSCF name per IMPI (TS 29.228 §6.1.1,
 * §6.1.2, §6.1.4) and the User-Data profile of a SAA (TS 29.228 Annex E).
 */
#include "aka/cx.h"

#include <string.h>

#include <lmdb.h>

#include "core/err.h"
#include "core/log.h"
#include "aka/cx_pending.h"
#include "aka/subcache.h"
#include "mem.h"
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

/* The user is held by an S-CSCF (registered there, or kept for its
 * unregistered services) other than the one sending this SAR. */
static int
held_elsewhere(enum akv_cx_state cur, const char *cur_name, size_t cur_name_len,
	       const struct akv_cx_req *cx)
{
	return cur != AKV_CX_NOT_REGISTERED && cur_name_len &&
	       (cur_name_len != cx->server_name_len ||
		memcmp(cur_name, cx->server_name, cur_name_len));
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
		/* §6.1.2.1, §8.1: another S-CSCF holds the user (registered, or
		 * kept for unregistered services). Its name is not overwritten:
		 * the answer names it, with DIAMETER_ERROR_IDENTITY_ALREADY_
		 * REGISTERED, for the requesting S-CSCF to send the request on. */
		if (held_elsewhere(cur, cur_name, cur_name_len, cx)) {
			answer(cx, 0, AKV_CX_EXP_IDENTITY_ALREADY_REGISTERED);
			return -1;
		}
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
	case AKV_CX_SAT_TIMEOUT_DEREG_STORE_NAME:
	case AKV_CX_SAT_USER_DEREG_STORE_NAME:
		/* §8.1: a de-registration by an S-CSCF that does not hold the
		 * user (the old one, after the user moved to a new one) must not
		 * de-register it there: an error, nothing changed. */
		if (held_elsewhere(cur, cur_name, cur_name_len, cx)) {
			answer(cx, AKV_CX_RC_UNABLE_TO_COMPLY, 0);
			return -1;
		}
		if (cx->sat == AKV_CX_SAT_TIMEOUT_DEREG_STORE_NAME ||
		    cx->sat == AKV_CX_SAT_USER_DEREG_STORE_NAME) {
			/* Deregistered, but the S-CSCF asked the HSS to keep its
			 * name. */
			cx->state = AKV_CX_UNREGISTERED;
			set_assigned(cx, cx->server_name, cx->server_name_len);
			return 1;
		}
		/* Deregistration: the HSS clears the stored S-CSCF name. */
		cx->state = AKV_CX_NOT_REGISTERED;
		set_assigned(cx, "", 0);
		return 1;
	case AKV_CX_SAT_AUTHENTICATION_FAILURE:
	case AKV_CX_SAT_AUTHENTICATION_TIMEOUT:
		/* §6.1.2.1: a registered user stays registered, and one another
		 * S-CSCF keeps for unregistered services stays with it;
		 * otherwise the name stored by the MAR/registration attempt is
		 * cleared. */
		if (cur == AKV_CX_REGISTERED || held_elsewhere(cur, cur_name, cur_name_len, cx))
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
		/* §6.1.1.1: de-registration needs a registered (or stored) user. */
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
		 int unreg_services, struct akv_cx_req *cx)
{
	cx->state = (uint8_t)cur;
	cx->want_user_data = 0;
	set_assigned(cx, "", 0);
	if (cur != AKV_CX_NOT_REGISTERED && cur_name_len) {
		/* §6.1.4.1: registered or unregistered-with-name: route there. */
		set_assigned(cx, cur_name, cur_name_len);
		answer(cx, AKV_CX_RC_SUCCESS, 0);
		return;
	}
	/* §6.1.4.1: no S-CSCF. With services for the unregistered state (e.g.
	 * voicemail, forwarding) the I-CSCF selects one; without, the identity
	 * is simply not registered and the I-CSCF answers the request itself. */
	if (unreg_services)
		answer(cx, 0, AKV_CX_EXP_UNREGISTERED_SERVICE);
	else
		answer(cx, 0, AKV_CX_EXP_IDENTITY_NOT_REGISTERED);
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
	/* TS 29.228 §6.1.2.1 / §6.1.1.1: the IMPU must belong to the IMPI. */
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

/* ==== Registration cache ==== */

/*
 * Coherence. A cached state is used only while its entry's cx_stamp equals
 * the engine's current stamp; bumping the stamp forgets every cached state
 * at once (wrapping to 0, it clears all entries' stamps: 0 is "unknown").
 * The server runs every SAR, UAR and LIR on one engine, the registrar (one
 * shard of one, eng.h): it is the only writer of registration records and
 * owns every IMPI, so the second rule below never fires there. The rules
 * hold for engines run as shards too (the tests run them so):
 *  - Registration records are written only by workers, in commit_batch().
 *    A worker caches only IMPIs of its own shard, whose requests with an
 *    IMPI all come to it (server/net/fe.c); after a successful commit it
 *    stores the new states, after a failed one it forgets them.
 *  - A request without IMPI (LIR, SAR/UAR by IMPU) goes to worker 0 and may
 *    write the record of an IMPI of another shard. Worker 0 then bumps the
 *    store's registration generation after the commit and before its
 *    answers leave; every engine compares it at the start of each batch and
 *    forgets all its states when it moved. A batch thus sees every commit
 *    whose answer left before it started, as one read snapshot taken at its
 *    start would.
 *  - Provisioning (akv_eng_tick's change log): a deleted subscriber's entry
 *    goes, its state with it; a refreshed entry keeps its state (keyed by
 *    IMPI) and the IMPU check uses its new fingerprints. Until the change
 *    log is read (within POLL_INTERVAL_MS) a SAR may still see the old IMPUs
 *    or a deleted subscriber, the same window a MAR has.
 *  - A restart starts with every state unknown: the first SAR of each IMPI
 *    reads the store and fills the cache.
 */

/* Interned S-CSCF names: index 0 is the empty name, 1..CX_NAMES_MAX the
 * table's. An HSS sees a handful of S-CSCFs; once the table is full, the
 * state of an IMPI served by yet another name is simply not cached (a peer
 * sending many names makes its SARs take the store path, nothing worse). */
#define CX_NAMES_MAX 63	/* fits the 6 bits of akv_subent.cx_reg */

struct akv_cx_cache {
	int off;		/* never used (tests' reference path) */
	uint16_t stamp;		/* valid cx_stamp: 1..65535 */
	uint64_t reg_gen;	/* the store's registration generation last seen */
	/* the registration database's handle, opened at the engine's first Cx
	 * batch: LMDB handles stay valid while the environment is open, and
	 * akv_store_dbi_open() costs a write transaction */
	int have_dbi;
	MDB_dbi dbi;
	unsigned nnames;
	uint16_t name_len[CX_NAMES_MAX + 1];
	char name[CX_NAMES_MAX + 1][AKV_CX_NAME_MAX + 1];
};

/* see cx.h */
struct akv_cx_cache *
akv_cx_cache_new(int off)
{
	struct akv_cx_cache *c = akv_calloc(1, sizeof(*c));

	c->off = off;
	c->stamp = 1;
	return c;
}

/* see cx.h */
void
akv_cx_cache_free(struct akv_cx_cache *c)
{
	akv_free(c);
}

/* The table index of name, adding it if there is room; -1 when full. */
static int
name_index(struct akv_cx_cache *c, const char *name, size_t len)
{
	if (!len)
		return 0;
	for (unsigned i = 1; i <= c->nnames; i++)
		if (c->name_len[i] == len && !memcmp(c->name[i], name, len))
			return (int)i;
	if (c->nnames == CX_NAMES_MAX || len > AKV_CX_NAME_MAX)
		return -1;
	c->nnames++;
	memcpy(c->name[c->nnames], name, len);
	c->name[c->nnames][len] = '\0';
	c->name_len[c->nnames] = (uint16_t)len;
	return (int)c->nnames;
}

static void
forget_cb(void *arg, struct akv_subent *s)
{
	(void)arg;
	s->cx_stamp = 0;
}

/* Forgets every cached state. */
static void
forget_all(struct akv_eng *e, struct akv_cx_cache *c)
{
	if (++c->stamp == 0) {
		/* wrapped: an old stamp could become valid again */
		akv_subcache_foreach(akv_eng_subcache(e), forget_cb, NULL);
		c->stamp = 1;
	}
}

/* Caches (state, name) as s's registration state, or forgets it when the
 * name does not fit the table. */
static void
remember(struct akv_cx_cache *c, struct akv_subent *s, unsigned state, const char *name,
	 size_t len)
{
	int ix = state <= AKV_CX_UNREGISTERED ? name_index(c, name, len) : -1;

	if (ix < 0) {
		s->cx_stamp = 0;
		return;
	}
	s->cx_reg = (uint8_t)(state | (unsigned)ix << 2);
	s->cx_stamp = c->stamp;
}

/* ==== Run against the store ==== */

/* One akv_cx_run_batch() call. */
struct cx_run {
	struct akv_eng *e;
	struct akv_cx_cache *c;		/* NULL: cache off */
	struct akv_store_reader *rd;
	MDB_dbi dbi;
	int snap;			/* the batch's read snapshot is held */
};

/* Takes the batch's read snapshot for the store path, once, at its first
 * request that needs it. Returns 0 or an error for req->err. */
static int
snapshot(struct cx_run *run)
{
	int rc;

	if (run->snap)
		return 0;
	rc = akv_store_reader_begin(run->rd);
	if (rc < 0 || !akv_store_reader_txn(run->rd)) {
		akv_store_reader_end(run->rd);
		return rc < 0 ? rc : AKV_ESTORE;
	}
	run->snap = 1;
	return 0;
}

/* User-Data's IMPU list of a subscriber whose IMPUs the cache keeps only as
 * fingerprints: read from its record in the batch's snapshot (one lookup,
 * the registration record stays unread). The IMPU asked for is checked
 * against the same record, as the store path does. Returns 1 when the list
 * is in cx, 0 when the store path must decide (no record, an IMPU the record
 * does not hold, a store error). */
static int
impus_from_record(struct cx_run *run, const struct akv_eng_req *req, struct akv_cx_req *cx)
{
	struct akv_sub sub;
	int ok;

	if (snapshot(run) || akv_store_reader_get(run->rd, req->impi, req->impi_len, &sub))
		return 0;
	ok = !req->impu_len || has_impu(&sub, req->impu, req->impu_len);
	if (ok)
		list_impus(&sub, cx);
	akv_store_sub_wipe(&sub);
	return ok;
}

/* Answers req from its IMPI's cached entry when it holds a valid state and
 * the answer needs nothing else from the store; returns 1 then (*write: its
 * SAR must be written; *read_batch as in cx_decide), else 0 with req->cx
 * left for cx_decide to reset. */
static int
decide_cached(struct cx_run *run, struct akv_eng_req *req, struct akv_eng_req *const *changed,
	      size_t nchanged, int *read_batch, int *write)
{
	struct akv_cx_req *cx = req->cx;
	struct akv_cx_cache *c = run->c;
	const struct akv_cx_req *newer;
	const struct akv_subent *s;
	const char *name;
	size_t name_len;
	unsigned state, ix;

	if (!c || !req->impi_len || !akv_eng_owns(run->e, req->impi, req->impi_len))
		return 0;
	s = akv_eng_sub_find(run->e, req->impi, req->impi_len);
	if (!s || s->cx_stamp != c->stamp || !akv_eng_sub_current(run->e, s))
		return 0;
	if (!akv_eng_is_cx_state_op(req->op))
		return 0;
	/* TS 29.228 §6.1.2.1 / §6.1.1.1: the IMPU must belong to the IMPI;
	 * checked by fingerprint, as for a MAR (subcache.h) */
	if (req->impu_len &&
	    !akv_subcache_impu_ok(akv_eng_subcache(run->e), s, req->impu, req->impu_len)) {
		cx->exp_code = AKV_CX_EXP_IDENTITIES_DONT_MATCH;
		return 1;
	}
	state = s->cx_reg & 3u;
	ix = s->cx_reg >> 2;
	name = c->name[ix];
	name_len = c->name_len[ix];
	if ((newer = batch_state(changed, nchanged, req))) {
		state = newer->state;
		name = newer->assigned;
		name_len = newer->assigned_len;
		*read_batch = 1;
	}
	switch (req->op) {
	case AKV_OP_SAR:
		*write = akv_cx_sar_apply(state, name, name_len, cx) == 1;
		if (!cx->want_user_data)
			break;
		/* User-Data lists the IMPUs, of which the entry keeps only
		 * fingerprints: known when the one IMPU is "sip:" + IMPI (what
		 * list_impus() would copy from the record), else read from the
		 * record alone (a subscriber with sip: and tel: IMPUs) */
		if (s->nimpu != 1 || !s->impu_sip_impi) {
			if (impus_from_record(run, req, cx))
				break;
			*read_batch = 0;
			*write = 0;
			return 0;
		}
		memcpy(cx->impus, "sip:", 4);
		memcpy(cx->impus + 4, req->impi, req->impi_len);
		cx->impus[4 + req->impi_len] = '\0';
		cx->impus_len = (uint16_t)(4 + req->impi_len + 1);
		cx->nimpus = 1;
		break;
	case AKV_OP_UAR:
		akv_cx_uar_apply(state, name, name_len, cx);
		break;
	default:
		akv_cx_lir_apply(state, name, name_len, akv_eng_config(run->e)->cx_unreg_services,
				 cx);
		break;
	}
	return 1;
}

static void
answer_clear(struct akv_cx_req *cx)
{
	cx->result_code = cx->exp_code = 0;
	cx->assigned_len = 0;
	cx->assigned[0] = '\0';
	cx->nimpus = cx->impus_len = 0;
	cx->want_user_data = 0;
}

/* Decides one request against the stored state, or the batch's newer state
 * (*read_batch = 1 then). Returns 1 when its SAR must be written, else 0;
 * failures are in req->err / req->cx. */
static int
cx_decide(struct cx_run *run, struct akv_eng_req *req, struct akv_eng_req *const *changed,
	  size_t nchanged, int *read_batch)
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
	answer_clear(cx);
	if (decide_cached(run, req, changed, nchanged, read_batch, &write))
		return write;
	answer_clear(cx);	/* what decide_cached began */
	/* One read snapshot for the store path of the whole batch, taken at its
	 * first such request: a transaction per lookup (two per request) took an
	 * LMDB reader slot under its mutex each time and was most of a SAR's
	 * cost in the worker (perf of `load --op register`). Changes of earlier
	 * requests of the batch are seen through batch_state(). */
	if ((rc = snapshot(run)) < 0) {
		req->err = rc;
		return 0;
	}
	rc = find_user(run->rd, req, &sub);
	if (rc > 0) {
		cx->exp_code = (uint32_t)rc;
		if (rc == AKV_CX_EXP_USER_UNKNOWN && run->c && req->impi_len) {
			/* deleted, the change log not read yet: no answer from the
			 * cache until then */
			struct akv_subent *s = akv_eng_sub_find(run->e, req->impi, req->impi_len);

			if (s)
				s->cx_stamp = 0;
		}
		goto out;
	}
	if (rc < 0 ||
	    (rc = reg_get(akv_store_reader_txn(run->rd), run->dbi, req->impi, req->impi_len,
			  &g)) < 0) {
		req->err = rc;
		goto out;
	}
	if ((newer = batch_state(changed, nchanged, req))) {
		g.state = newer->state;
		g.name_len = newer->assigned_len;
		memcpy(g.name, newer->assigned, newer->assigned_len + 1);
		*read_batch = 1;
	} else if (run->c && akv_eng_owns(run->e, req->impi, req->impi_len)) {
		/* the committed state, read in a snapshot the engine trusts:
		 * cache it with the subscriber, loaded as a MAR would */
		remember(run->c, akv_eng_sub_load(run->e, &sub), g.state, g.name, g.name_len);
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
		akv_cx_lir_apply(g.state, g.name, g.name_len,
				 akv_eng_config(run->e)->cx_unreg_services, cx);
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
 * request that changed a record or read a changed one gets the error.
 * Returns 0 or that error. */
static int
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
		return 0;
	for (size_t i = 0; i < nchanged; i++)
		changed[i]->err = rc;
	for (size_t i = 0; i < n; i++)
		if (read_batch[i])
			reqs[i]->err = rc;
	return rc;
}

/* After the commit of the batch's changes (rc: its result): the engine's
 * cached states of the IMPIs written become the new ones, or unknown when
 * it failed; a record of another shard's IMPI (a request without IMPI)
 * makes the other engines forget theirs (see "Coherence"). */
static void
after_commit(struct cx_run *run, struct akv_eng_req *const *changed, size_t nchanged, int rc)
{
	struct akv_store *st = akv_eng_store(run->e);
	int foreign = 0;

	for (size_t i = 0; i < nchanged; i++) {
		const struct akv_eng_req *r = changed[i];
		struct akv_subent *s;

		if (!akv_eng_owns(run->e, r->impi, r->impi_len)) {
			foreign = 1;
			continue;
		}
		/* in order: the last change of an IMPI wins; an entry awaiting a
		 * provisioning reload keeps its state through it */
		if (!run->c || !(s = akv_eng_sub_find(run->e, r->impi, r->impi_len)))
			continue;
		if (rc)
			s->cx_stamp = 0;
		else
			remember(run->c, s, r->cx->state, r->cx->assigned, r->cx->assigned_len);
	}
	/* bumped even after a failed commit: what it left is not known */
	if (foreign) {
		uint64_t before = akv_store_reg_gen(st);

		akv_store_reg_gen_bump(st);
		/* this engine caches none of those IMPIs: no need to forget
		 * its own states, unless another engine bumped meanwhile */
		if (run->c && run->c->reg_gen == before)
			run->c->reg_gen = before + 1;
	}
}

/* The "authentication pending" memo (cx_pending.h), after req was decided.
 * A UAR of type REGISTRATION (REGISTRATION_AND_CAPABILITIES asks for a new
 * selection: no name) names the S-CSCF of the last MAR when:
 *  - the user is not registered (TS 29.228 §6.1.1.1, §6.3.1): FIRST_
 *    REGISTRATION with it, so the I-CSCF sends the UE's answer to the
 *    S-CSCF that holds the vectors;
 *  - the user is registered or unregistered at another S-CSCF: §8.1, a MAR
 *    from a new S-CSCF (not a resync) overwrites the stored name, as when
 *    the I-CSCF chose a new one after the old one stopped answering.
 * A successful SAR other than NO_ASSIGNMENT settles what was pending: one
 * that leaves the user not registered, or reports a failed or timed-out
 * authentication (§6.1.2.1), clears the entry; one that names an S-CSCF
 * clears it unless it names the same one. */
static void
pending_step(const struct akv_eng_cfg *cfg, struct akv_eng_req *req, uint64_t now_ms)
{
	struct akv_cx_pending *p = cfg->cx_pending;
	struct akv_cx_req *cx = req->cx;
	uint16_t keep;
	int auth_failed;

	if (!p || req->err || !cx || !req->impi_len)
		return;
	if (req->op == AKV_OP_UAR) {
		char name[AKV_CX_NAME_MAX + 1];
		size_t n;

		if (cx->uat != AKV_CX_UAT_REGISTRATION ||
		    (cx->exp_code != AKV_CX_EXP_FIRST_REGISTRATION &&
		     cx->exp_code != AKV_CX_EXP_SUBSEQUENT_REGISTRATION))
			return;
		n = akv_cx_pending_find(p, req->impi, req->impi_len, now_ms, name);
		if (n)
			set_assigned(cx, name, n);
		return;
	}
	if (req->op != AKV_OP_SAR || cx->sat == AKV_CX_SAT_NO_ASSIGNMENT ||
	    cx->result_code != AKV_CX_RC_SUCCESS)
		return;
	/* keep 0 clears whatever is noted; a user left not registered has no
	 * name assigned, which interns as 0 */
	auth_failed = cx->sat == AKV_CX_SAT_AUTHENTICATION_FAILURE ||
		      cx->sat == AKV_CX_SAT_AUTHENTICATION_TIMEOUT;
	keep = auth_failed ? 0 : akv_cx_pending_intern(p, cx->assigned, cx->assigned_len);
	akv_cx_pending_clear(p, req->impi, req->impi_len, keep);
}

/* see cx.h */
int
akv_cx_run_batch(struct akv_eng *e, struct akv_eng_req *const *reqs, size_t n, uint64_t now_ms)
{
	struct akv_store *st = akv_eng_store(e);
	struct akv_cx_cache *c = akv_eng_cx_cache(e);
	struct akv_eng_req *changed[AKV_CX_BATCH_MAX];
	uint8_t read_batch[AKV_CX_BATCH_MAX];
	struct cx_run run = { e, NULL, akv_eng_reader(e), 0, 0 };
	size_t nchanged = 0;
	int rc = AKV_EINVAL;

	AKV_ASSERT(n <= AKV_CX_BATCH_MAX);
	if (!n)
		return 0;
	memset(changed, 0, sizeof(changed));
	if (st && !c->have_dbi && (rc = akv_store_dbi_open(st, REG_DB, 0, &c->dbi)) == 0)
		c->have_dbi = 1;
	if (!st || !run.rd || !c->have_dbi) {
		for (size_t i = 0; i < n; i++)
			reqs[i]->err = rc;
		return rc;	/* the registration database could not be opened */
	}
	run.dbi = c->dbi;
	if (!c->off) {
		/* before any read of this batch: see "Coherence" */
		uint64_t g = akv_store_reg_gen(st);

		if (g != c->reg_gen) {
			c->reg_gen = g;
			forget_all(e, c);
		}
		run.c = c;
	}
	for (size_t i = 0; i < n; i++) {
		int rb;

		if (cx_decide(&run, reqs[i], changed, nchanged, &rb))
			changed[nchanged++] = reqs[i];
		read_batch[i] = (uint8_t)rb;
		pending_step(akv_eng_config(e), reqs[i], now_ms);
	}
	if (run.snap)
		akv_store_reader_end(run.rd);
	if (nchanged) {
		rc = commit_batch(st, run.dbi, reqs, n, changed, nchanged, read_batch, now_ms);
		after_commit(&run, changed, nchanged, rc);
		return rc;
	}
	return 0;
}
