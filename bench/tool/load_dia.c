/*
 * load_dia.c - Diameter Cx for `load --diameter` (TS 29.229 over RFC 6733):
 * each connection is a peer that sends a CER and waits for a 2001 CEA
 * before anything else (RFC 6733 §5.3), then MARs as an S-CSCF sends them
 * (Digest-AKAv1-MD5, SIP-Number-Auth-Items n). Every SIP-Auth-Data-Item of
 * the MAA is checked against the keys (load_check.c): SIP-Authenticate =
 * RAND||AUTN, SIP-Authorization = XRES, Confidentiality-Key, Integrity-Key.
 * Resync is a second MAR carrying SIP-Authorization = RAND||AUTS (§6.3.11).
 * REGISTER runs a registration as an S-CSCF does (TS 29.228 §6.1.2, §6.3;
 * REFERENCE §7.1): MAR, then, the vector being right, SAR with
 * Server-Assignment-Type REGISTRATION the first time the subscriber registers
 * in this run and RE_REGISTRATION after; the SAA must be 2001 with the
 * profile. The SAR leaves only when the UE's RES (computed here at once)
 * equals the MAA's XRES, as the S-CSCF decides; the full vector check is
 * batched (load_check.c) as for MARs. With --deregister the UE then
 * de-registers (SAR USER_DEREGISTRATION, TS 29.228 §6.1.2: the HSS clears the
 * S-CSCF name; the SAA is 2001 and carries no profile), so its next
 * registration is a first one again: each cycle changes the stored state
 * twice, the write path of a storm after a mass de-registration.
 * The Hop-by-Hop Identifier carries the slot and sequence (RFC 6733 §3:
 * unique per connection at any time).
 */
#include "load.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "echo.h"
#include "err.h"
#include "load_dia_msg.h"
#include "mem.h"
#include "aka/eng.h"
#include "proto/bytes.h"
#include "proto/dia.h"

#define DIA_SCHEME "Digest-AKAv1-MD5"
#define DIA_SERVER_NAME "sip:scscf.bench.akavs:6060"
#define DIA_REALM_DEFAULT "bench.akavs"

static void
node_of(const struct load_thread *t, struct akv_dia_node *n, char host[64])
{
	/* one Origin-Host per client thread, as one S-CSCF per ring */
	snprintf(host, 64, "load%u.bench.akavs", t->idx);
	memset(n, 0, sizeof(*n));
	n->origin_host = host;
	n->origin_realm = DIA_REALM_DEFAULT;
	n->ipv4[0] = 127, n->ipv4[3] = 1;
	n->origin_state_id = (uint32_t)time(NULL);
	n->product_name = "akavs-bench";
}

static int
dia_frame_len(const uint8_t *buf, size_t len)
{
	return akv_dia_frame_len(buf, len, AKV_DIA_MSG_MAX);
}

/* CER, then a CEA with Result-Code 2001, on the blocking socket. */
static int
dia_handshake(struct load_thread *t, struct load_conn *c)
{
	int fd = c->fd;
	static _Thread_local uint8_t buf[AKV_DIA_MSG_MAX];
	struct timeval tv = {.tv_sec = 5};
	struct akv_dia_node node;
	struct akv_dia_hdr h;
	struct akv_dia_result r;
	char host[64];
	size_t got = 0;
	int len, fl = AKV_EPARTIAL;

	node_of(t, &node, host);
	len = akv_dia_build_cer(buf, sizeof(buf), &node, 1, (uint32_t)time(NULL) << 20);
	if (len < 0 || load_conn_send_blocking(c, buf, (size_t)len) != len) {
		fprintf(stderr, "load: cannot send CER: %s\n",
			len < 0 ? "encoding" : strerror(errno));
		return -EIO;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (fl == AKV_EPARTIAL || (fl > 0 && got < (size_t)fl)) {
		ssize_t n = load_conn_recv_blocking(c, buf + got, sizeof(buf) - got);

		if (n <= 0) {
			fprintf(stderr, "load: no CEA from the server: %s\n",
				n ? strerror(errno) : "connection closed");
			return -EIO;
		}
		got += (size_t)n;
		fl = dia_frame_len(buf, got);
	}
	if (fl < 0 || (size_t)fl != got || akv_dia_parse_result(buf, got, &h, &r) ||
	    h.cmd != AKV_DIA_CMD_CE) {
		fprintf(stderr, "load: malformed CEA (or data after it)\n");
		return -EPROTO;
	}
	if (r.result_code != AKV_DIA_SUCCESS) {
		fprintf(stderr, "load: CEA Result-Code %u\n", r.result_code);
		return -EPERM;
	}
	tv.tv_sec = 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return 0;
}

/* Per client thread: the MAR template (load_dia_msg.h). */
struct dia_thread {
	struct load_mar_tpl mar;
	struct load_maa_memo maa; /* what the server repeats in every MAA */
	int slow; /* the template could not be cut: every MAR by akv_dia_build_mar */
	uint64_t session; /* slow: the Session-Id counter */
	/* REGISTER: the SAR's fixed AVPs; one bit per subscriber of this
	 * thread (by rank), set once the server accepted its registration */
	struct load_sar_tpl sar;
	uint64_t *registered;
};

static int
mar_tpl_init(struct load_mar_tpl *tpl, unsigned idx, const struct load_cfg *cfg)
{
	char host[LOAD_MAR_HOST_MAX];

	/* one Origin-Host per client thread, as one S-CSCF per ring */
	snprintf(host, sizeof(host), "load%u.bench.akavs", idx);
	return load_mar_init(tpl, host, DIA_REALM_DEFAULT,
			     cfg->dia_realm ? cfg->dia_realm : DIA_REALM_DEFAULT, DIA_SCHEME,
			     DIA_SERVER_NAME);
}

static int
dia_thread_init(struct load_thread *t)
{
	const struct load_cfg *cfg = t->cfg;
	struct dia_thread *d = akv_calloc(1, sizeof(*d));
	char host[LOAD_MAR_HOST_MAX];

	t->proto_state = d;
	if (mar_tpl_init(&d->mar, t->idx, cfg)) {
		if (t->idx == 0)
			fprintf(stderr, "load: note: MAR template unusable, building each MAR "
					"with akv_dia_build_mar\n");
		d->slow = 1;
	}
	if (cfg->op != LOAD_OP_REGISTER)
		return 0;
	snprintf(host, sizeof(host), "load%u.bench.akavs", t->idx);
	if (load_sar_init(&d->sar, host, DIA_REALM_DEFAULT,
			  cfg->dia_realm ? cfg->dia_realm : DIA_REALM_DEFAULT, DIA_SERVER_NAME)) {
		fprintf(stderr, "load: --realm too long for a SAR\n");
		return -EINVAL;
	}
	/* one bit per rank of this thread (load_slot.rank: s->sub / threads,
	 * fewer than n / threads + 1) */
	if (cfg->subs)
		d->registered =
		    akv_calloc(cfg->subs->n / cfg->threads / 64 + 1, sizeof(*d->registered));
	return 0;
}

static void
dia_thread_fini(struct load_thread *t)
{
	struct dia_thread *d = t->proto_state;

	if (d)
		akv_free(d->registered);
	akv_free(d);
	t->proto_state = NULL;
}

/* Public-Identity: the first IMPU, else the IMPI (TS 29.229 §6.1.7). Read
 * through load_sub_impu(): from the record's first line when the identities
 * are inline there, so load_pick prefetches that line only
 * (load_proto.impu_line0). */
static const char *
mar_impu(const struct load_sub *sub, size_t *len)
{
	const char *u = load_sub_impu(sub);

	if (u) {
		*len = sub->impu_len;
		return u;
	}
	*len = sub->impi_len;
	return sub->impi;
}

/* The codec's builder, formatting the Session-Id each time: the fallback. */
static int
build_mar_slow(struct load_thread *t, const struct load_sub *sub, uint64_t id,
	       const uint8_t *rand_auts, uint32_t n, uint8_t *out, size_t cap)
{
	struct dia_thread *d = t->proto_state;
	uint64_t session;
	struct akv_dia_node node;
	struct akv_dia_mar m;
	char host[64], sid[128];
	size_t ul;

	node_of(t, &node, host);
	/* RFC 6733 §8.8: <DiameterIdentity>;<high 32>;<low 32> */
	session = ++d->session;
	snprintf(sid, sizeof(sid), "%s;%u;%u", host, (unsigned)(session >> 32), (unsigned)session);
	memset(&m, 0, sizeof(m));
	m.session_id = sid;
	m.dest_realm = t->cfg->dia_realm ? t->cfg->dia_realm : DIA_REALM_DEFAULT;
	m.impi = sub->impi;
	m.impu = mar_impu(sub, &ul);
	m.scheme = DIA_SCHEME;
	m.server_name = DIA_SERVER_NAME;
	m.n = n;
	m.rand_auts = rand_auts;
	return akv_dia_build_mar(out, cap, &node, &m, (uint32_t)id, (uint32_t)(id ^ session));
}

static int
build_mar(struct load_thread *t, struct load_slot *s, uint64_t id, const uint8_t *rand_auts,
	  uint32_t n, uint8_t *out, size_t cap)
{
	const struct load_sub *sub = &t->cfg->subs->v[s->sub];
	struct dia_thread *d = t->proto_state;
	const char *impu;
	size_t ul;

	if (d->slow)
		return build_mar_slow(t, sub, id, rand_auts, n, out, cap);
	impu = mar_impu(sub, &ul);
	return load_mar_build(&d->mar, sub->impi, sub->impi_len, impu, ul, n, rand_auts,
			      (uint32_t)id, out, cap);
}

/* REGISTER: has the server accepted a registration of s's subscriber in
 * this run? (A subscriber runs one transaction at a time: the bit cannot
 * change between its SAR and its SAA.) */
static int
registered(const struct load_thread *t, const struct load_slot *s)
{
	const struct dia_thread *d = t->proto_state;

	return (int)(d->registered[s->rank / 64] >> (s->rank % 64) & 1);
}

static void
set_registered(struct load_thread *t, const struct load_slot *s, int on)
{
	struct dia_thread *d = t->proto_state;
	uint64_t bit = 1ull << (s->rank % 64);

	if (on)
		d->registered[s->rank / 64] |= bit;
	else
		d->registered[s->rank / 64] &= ~bit;
}

/* A SAR of the MAR's identities with a new Session-Id of this peer:
 * Server-Assignment-Type sat. */
static int
build_sar(struct load_thread *t, struct load_slot *s, uint64_t id, uint32_t sat, uint8_t *out,
	  size_t cap)
{
	const struct load_sub *sub = &t->cfg->subs->v[s->sub];
	struct dia_thread *d = t->proto_state;
	char host[64], sid[128];
	const char *sp = sid, *impu;
	uint64_t session;
	size_t sl, ul;

	if (d->slow) {
		struct akv_dia_node node;
		int n;

		node_of(t, &node, host);
		session = ++d->session;
		n = snprintf(sid, sizeof(sid), "%s;%u;%u", host, (unsigned)(session >> 32),
			     (unsigned)session);
		sl = (size_t)n;
	} else {
		load_mar_next_session(&d->mar);
		sp = d->mar.sid;
		sl = d->mar.sid_len;
		session = d->mar.session;
	}
	impu = mar_impu(sub, &ul);
	return load_sar_build(&d->sar, sp, sl, sub->impi, sub->impi_len, impu, ul, sat,
			      (uint32_t)id, (uint32_t)id ^ (uint32_t)session, out, cap);
}

/* Judges the SAA of the UE's de-registration (step 2): 2001, with or
 * without a profile (TS 29.228 §6.1.2.1 asks User-Data only for
 * assignments), for the IMPI asked for. As dia_answer. */
static int
dereg_saa_judge(struct load_thread *t, struct load_slot *s, const uint8_t *f, size_t len)
{
	const struct load_sub *sub = &t->cfg->subs->v[s->sub];
	int v = load_saa_judge(f, len, sub->impi, sub->impi_len);

	if (v < 0)
		return AKV_EPROTO;
	t->c.sars++;
	switch (v) {
	case LOAD_SAA_OK:
	case LOAD_SAA_NO_PROFILE:
		t->c.deregistered++;
		set_registered(t, s, 0);
		break;
	case LOAD_SAA_REFUSED:
		t->c.err_answers++;
		break;
	default: /* 2001 for another user */
		t->c.err_check++;
		break;
	}
	return 0;
}

/* Judges the SAA that ends a registration (step 1); with --deregister the
 * UE's de-registration follows. As dia_answer. */
static int
saa_judge(struct load_thread *t, struct load_slot *s, uint64_t id, const uint8_t *f, size_t len,
	  uint8_t *out, size_t cap)
{
	const struct load_sub *sub = &t->cfg->subs->v[s->sub];
	int v = load_saa_judge(f, len, sub->impi, sub->impi_len);

	if (v < 0)
		return AKV_EPROTO; /* malformed: a protocol error, as a malformed MAA */
	t->c.sars++;
	if (!t->stopping)
		akv_hist_add(&t->txn_hist, t->now - s->t_begin);
	switch (v) {
	case LOAD_SAA_OK:
		t->c.registered++;
		if (!registered(t, s)) {
			t->c.registered_first++;
			set_registered(t, s, 1);
		}
		if (t->cfg->deregister) {
			s->step = 2;
			return build_sar(t, s, id, LOAD_SAT_USER_DEREGISTRATION, out, cap);
		}
		break;
	case LOAD_SAA_REFUSED:
		t->c.err_answers++;
		break;
	default: /* 2001 without the profile, or for another user */
		t->c.err_check++;
		break;
	}
	return 0;
}

static int
dia_start(struct load_thread *t, struct load_slot *s, uint64_t id, uint8_t *out, size_t cap)
{
	if (load_pick(t, s))
		return -1;
	if (s->op == LOAD_OP_REGISTER)
		s->t_begin = t->now;
	return build_mar(t, s, id, NULL, s->op == LOAD_OP_VECTORS ? t->cfg->nvec : 1, out, cap);
}

static int
dia_answer_id(const uint8_t *f, size_t len, uint64_t *id)
{
	/* a request from the server (a watchdog after silence) answers no slot */
	if (len < AKV_DIA_HDR_LEN)
		return AKV_EPROTO;
	if (f[4] & AKV_DIA_F_REQ)
		return 1;
	*id = akv_get_be32(f + 12); /* Hop-by-Hop Identifier */
	return 0;
}

/* Judges a parsed MAA: Result-Code, item count, every item's vector;
 * for RESYNC the second MAR, for REGISTER the SAR. As dia_answer. */
static inline __attribute__((always_inline)) int
maa_judge(struct load_thread *t, struct load_slot *s, uint64_t id, const struct load_maa *m,
	  uint8_t *out, size_t cap)
{
	unsigned want = s->op == LOAD_OP_VECTORS ? t->cfg->nvec : 1;
	uint64_t ms = s->sqn;
	int bad = 0;

	if (m->result_code != AKV_DIA_SUCCESS) {
		t->c.err_answers++;
		return 0;
	}
	if (m->n != want) {
		t->c.err_check++;
		return 0;
	}
	for (unsigned i = 0; i < m->n; i++) {
		const struct load_maa_item *it = &m->item[i];

		/* after a resync the fresh vector must be above the SQN_MS we sent */
		if (load_check_vec(t, s, it->rand, it->autn, it->ck, it->ik, it->xres,
				   it->xres_len, s->step == 1 ? ms + 1 : 0))
			bad = 1;
		t->c.vectors++;
	}
	if (bad) {
		t->c.err_check++;
		return 0;
	}
	if (s->op == LOAD_OP_RESYNC && s->step == 0) {
		uint8_t rand_auts[30];

		load_derive(t, s);
		memcpy(rand_auts, s->rand, 16);
		load_make_auts(t, s, rand_auts + 16);
		s->step = 1;
		return build_mar(t, s, id, rand_auts, 1, out, cap);
	}
	if (s->op == LOAD_OP_REGISTER) {
		const struct load_maa_item *it = &m->item[0];

		/* the UE answers RES = f2(K, RAND) (TS 33.102 §6.3.3); the
		 * S-CSCF registers it only when RES = XRES (TS 33.203 §6.1),
		 * then assigns itself (TS 29.228 §6.1.2). RES is what the
		 * transaction needs to go on: computed at once, like VERIFY's,
		 * from this vector (whatever load_check_vec keeps in the slot) */
		memcpy(s->rand, it->rand, 16);
		memcpy(s->autn, it->autn, 16);
		load_derive(t, s);
		if (it->xres_len != 8 || akv_ct_eq(s->res, it->xres, 8)) {
			/* no SAR; the batched check counts the vector, unless
			 * vectors are not checked */
			if (!t->cfg->check)
				t->c.err_check++;
			return 0;
		}
		s->step = 1;
		return build_sar(t, s, id,
				 registered(t, s) ? LOAD_SAT_RE_REGISTRATION
						  : LOAD_SAT_REGISTRATION,
				 out, cap);
	}
	return 0;
}

/* What load_maa_read() leaves to the codec: akv_dia_parse_maa() decides,
 * its copies of the keys are wiped after the judging. */
static int
dia_answer_codec(struct load_thread *t, struct load_slot *s, uint64_t id, const uint8_t *f,
		 size_t len, uint8_t *out, size_t cap)
{
	struct akv_dia_maa_item items[AKV_VEC_MAX];
	struct akv_dia_hdr h;
	struct akv_dia_result r;
	struct load_maa m;
	unsigned n = 0;
	int rc = AKV_EPROTO;

	if (!akv_dia_parse_maa(f, len, &h, &r, items, AKV_VEC_MAX, &n) &&
	    h.cmd == AKV_DIA_CMD_MA) {
		m.result_code = r.result_code;
		m.n = n;
		for (unsigned i = 0; i < n; i++) {
			m.item[i].rand = items[i].rand;
			m.item[i].autn = items[i].autn;
			m.item[i].xres = items[i].xres;
			m.item[i].xres_len = items[i].xres_len;
			m.item[i].ck = items[i].ck;
			m.item[i].ik = items[i].ik;
		}
		rc = maa_judge(t, s, id, &m, out, cap);
	}
	akv_wipe(items, sizeof(items));
	return rc;
}

static int
dia_answer(struct load_thread *t, struct load_slot *s, uint64_t id, const uint8_t *f, size_t len,
	   uint8_t *out, size_t cap)
{
	struct dia_thread *d = t->proto_state;
	struct load_maa m;

	if (s->op == LOAD_OP_REGISTER && s->step == 1)
		return saa_judge(t, s, id, f, len, out, cap);
	if (s->op == LOAD_OP_REGISTER && s->step == 2)
		return dereg_saa_judge(t, s, f, len);
	/* one pass over the MAA; what it cannot vouch for goes to the codec */
	if (load_maa_read(f, len, &m, &d->maa))
		return dia_answer_codec(t, s, id, f, len, out, cap);
	return maa_judge(t, s, id, &m, out, cap);
}

/* see load.h */
int
load_dia_sizes(const struct load_cfg *cfg, unsigned *req, unsigned *ans)
{
	static uint8_t buf[AKV_DIA_MSG_MAX];
	static const uint8_t zero[32];
	struct load_thread t;
	struct load_slot s;
	struct dia_thread d;
	struct akv_dia_wr w;
	unsigned n = cfg->op == LOAD_OP_VECTORS ? cfg->nvec : 1;
	const uint32_t v = AKV_DIA_VENDOR_3GPP;
	const char *impu;
	size_t ul;
	int rl, al;

	if (!cfg->subs || !cfg->subs->n)
		return -1;
	memset(&t, 0, sizeof(t));
	memset(&s, 0, sizeof(s));
	t.cfg = cfg;
	memset(&d, 0, sizeof(d));
	d.slow = mar_tpl_init(&d.mar, 0, cfg) != 0;
	t.proto_state = &d;
	rl = build_mar(&t, &s, 1, NULL, n, buf, sizeof(buf));
	/* the MAA of TS 29.229 §6.1.8 as akavs answers it, n items */
	akv_dia_wr_init(&w, buf, sizeof(buf));
	akv_dia_wr_hdr(&w, AKV_DIA_F_PROXY, AKV_DIA_CMD_MA, AKV_DIA_APP_CX, 1, 1);
	akv_dia_put_str(&w, AKV_DIA_AVP_SESSION_ID, 0, "load0.bench.akavs;0;1");
	akv_dia_put_vsai(&w, v, AKV_DIA_APP_CX);
	akv_dia_put_u32(&w, AKV_DIA_AVP_RESULT_CODE, 0, AKV_DIA_SUCCESS);
	akv_dia_put_u32(&w, AKV_DIA_AVP_AUTH_SESSION_STATE, 0, 1);
	akv_dia_put_str(&w, AKV_DIA_AVP_ORIGIN_HOST, 0, "hss.bench.akavs");
	akv_dia_put_str(&w, AKV_DIA_AVP_ORIGIN_REALM, 0, DIA_REALM_DEFAULT);
	akv_dia_put_str(&w, AKV_DIA_AVP_USER_NAME, 0, cfg->subs->v[0].impi);
	impu = mar_impu(&cfg->subs->v[0], &ul);
	akv_dia_put(&w, AKV_DIA_AVP_PUBLIC_IDENTITY, v, impu, ul);
	akv_dia_put_u32(&w, AKV_DIA_AVP_SIP_NUMBER_AUTH_ITEMS, v, n);
	for (unsigned i = 0; i < n; i++) {
		akv_dia_group_begin(&w, AKV_DIA_AVP_SIP_AUTH_DATA_ITEM, v);
		akv_dia_put_u32(&w, AKV_DIA_AVP_SIP_ITEM_NUMBER, v, i + 1);
		akv_dia_put_str(&w, AKV_DIA_AVP_SIP_AUTHENTICATION_SCHEME, v, DIA_SCHEME);
		akv_dia_put(&w, AKV_DIA_AVP_SIP_AUTHENTICATE, v, zero, 32);
		akv_dia_put(&w, AKV_DIA_AVP_SIP_AUTHORIZATION, v, zero, 8);
		akv_dia_put(&w, AKV_DIA_AVP_CONFIDENTIALITY_KEY, v, zero, 16);
		akv_dia_put(&w, AKV_DIA_AVP_INTEGRITY_KEY, v, zero, 16);
		akv_dia_group_end(&w);
	}
	al = akv_dia_wr_finish(&w);
	if (rl < AKV_ECHO_REQ_MIN || al < AKV_ECHO_HDR_LEN)
		return -1;
	*req = (unsigned)rl;
	*ans = (unsigned)al;
	return 0;
}

static double
per_s(uint64_t n, double seconds)
{
	return seconds > 0 ? (double)n / seconds : 0;
}

/* see load.h */
void
load_dia_report(FILE *f, const struct load_result *r, int json)
{
	const struct akv_hist *h = &r->txn_hist;
	/* every answered request is a MAA or a SAA */
	uint64_t mars = r->c.requests - r->c.sars;
	double us50 = (double)akv_hist_quantile(h, 0.5) / 1e3;
	double us99 = (double)akv_hist_quantile(h, 0.99) / 1e3;
	double us999 = (double)akv_hist_quantile(h, 0.999) / 1e3;

	if (json) {
		fprintf(f,
			",\"registrations\":%llu,\"registrations_per_s\":%.0f,"
			"\"first_registrations\":%llu,\"re_registrations\":%llu,"
			"\"deregistrations\":%llu,\"deregistrations_per_s\":%.0f,"
			"\"mars\":%llu,\"mars_per_s\":%.0f,\"sars\":%llu,\"sars_per_s\":%.0f,"
			"\"registration_latency_us\":{\"p50\":%.1f,\"p99\":%.1f,\"p999\":%.1f,"
			"\"mean\":%.1f,\"max\":%.1f}",
			(unsigned long long)r->c.registered, per_s(r->c.registered, r->seconds),
			(unsigned long long)r->c.registered_first,
			(unsigned long long)(r->c.registered - r->c.registered_first),
			(unsigned long long)r->c.deregistered, per_s(r->c.deregistered, r->seconds),
			(unsigned long long)mars, per_s(mars, r->seconds),
			(unsigned long long)r->c.sars, per_s(r->c.sars, r->seconds), us50, us99,
			us999, akv_hist_mean(h) / 1e3, (double)h->max / 1e3);
		return;
	}
	fprintf(f,
		"register %9.0f registrations/s = %.0f MAR/s + %.0f SAR/s (%llu registrations: "
		"%llu first, %llu re-registrations)\n"
		"         per registration (MAR sent to SAA read): p50 %.1f us  p99 %.1f us  "
		"p99.9 %.1f us\n",
		per_s(r->c.registered, r->seconds), per_s(mars, r->seconds),
		per_s(r->c.sars, r->seconds), (unsigned long long)r->c.registered,
		(unsigned long long)r->c.registered_first,
		(unsigned long long)(r->c.registered - r->c.registered_first), us50, us99, us999);
	if (r->c.deregistered)
		fprintf(f, "         %.0f de-registrations/s (%llu: SAR USER_DEREGISTRATION, 2001)\n",
			per_s(r->c.deregistered, r->seconds),
			(unsigned long long)r->c.deregistered);
}

const struct load_proto load_proto_dia = {
    .name = "diameter",
    .id32 = 1,
    .impu_line0 = 1, /* mar_impu */
    .frame_len = dia_frame_len,
    .handshake = dia_handshake,
    .thread_init = dia_thread_init,
    .thread_fini = dia_thread_fini,
    .start = dia_start,
    .answer_id = dia_answer_id,
    .answer = dia_answer,
};
