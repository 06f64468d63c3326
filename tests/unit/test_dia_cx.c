/*
 * test_dia_cx.c - Cx over the real path: Diameter bytes -> akv_dia_ops ->
 * AKA engine on a temporary LMDB store -> answer bytes, checked with the
 * reference Milenage (TS 29.229 MAR/SAR/UAR/LIR; TS 29.228 §6.1-6.3). Plus
 * the pure registration-state decisions and the User-Data XML.
 */
#include <check.h>
#include <string.h>

#include "aka/cx_pending.h"
#include "dia_fixture.h"
#include "eng_fixture.h"

#define V3GPP AKV_DIA_VENDOR_3GPP
#define IMPI  "alice@ims.test"
#define IMPU  "sip:alice@ims.test"
#define IMPU2 "tel:+15550100"

struct env {
	struct akv_store *st;
	struct akv_eng *e;
	struct akv_sub alice;
	struct akv_dia_conn c;
	uint32_t hbh;
};

/* unreg_services, cx_cache_off, cx_pending: as in struct akv_eng_cfg */
static void
env_open_pending(struct env *v, int unreg_services, int cx_cache_off,
		 struct akv_cx_pending *pending)
{
	struct akv_eng_cfg ecfg;
	struct akv_sub bob;

	memset(v, 0, sizeof(*v));
	v->st = fx_store_new("diacx");
	fx_sub_make(&v->alice, IMPI, IMPU, 1, 0);
	v->alice.nimpu = 2;
	v->alice.impu_len[1] = (uint8_t)strlen(IMPU2);
	memcpy(v->alice.impu[1], IMPU2, strlen(IMPU2));
	fx_sub_add(v->st, &v->alice);
	fx_sub_make(&bob, "bob@ims.test", "sip:bob@ims.test", 2, 0);
	bob.schemes = AKV_SCHEME_BIT(AKV_SCHEME_AKAV2_MD5);
	fx_sub_add(v->st, &bob);
	akv_eng_cfg_default(&ecfg);
	ecfg.cx_unreg_services = unreg_services;
	ecfg.cx_cache_off = cx_cache_off;
	ecfg.cx_pending = pending;
	v->e = fx_eng_new(&ecfg, v->st);
	fx_conn(&v->c, NULL);
	v->c.pending = pending;
	fx_open(&v->c);
	v->hbh = 1000;
}

static void
env_open_cfg(struct env *v, int unreg_services, int cx_cache_off)
{
	env_open_pending(v, unreg_services, cx_cache_off, NULL);
}

static void
env_open(struct env *v)
{
	env_open_cfg(v, 1, 0);
}

static void
env_close(struct env *v)
{
	akv_eng_free(v->e);
	akv_store_close(v->st);
}

/* Runs one request to its answer; returns the on_msg action. */
static int
roundtrip(struct env *v, const uint8_t *m, size_t n, uint8_t *out, size_t *olen)
{
	struct akv_test_slot s;
	int rc = fx_msg(&v->c, m, n, &s, out, olen);

	if (rc == AKV_PROTO_DISPATCH) {
		int len;

		fx_run1(v->e, &s.req, 1000);
		len = akv_dia_ops.encode(&v->c, &s.slot, out, AKV_PROTO_OUT_MAX);
		ck_assert_int_gt(len, 0);
		*olen = (size_t)len;
	}
	return rc;
}

static size_t
mar(struct env *v, uint8_t *buf, const char *impi, const char *impu, const char *scheme,
    uint32_t n, const uint8_t *rand_auts)
{
	struct akv_dia_node node = { .origin_host = "scscf.ims.test", .origin_realm = "ims.test" };
	struct akv_dia_mar m = {
		.session_id = "scscf.ims.test;1;42", .dest_realm = "ims.test", .impi = impi,
		.impu = impu, .scheme = scheme, .server_name = "sip:scscf.ims.test:6060", .n = n,
		.rand_auts = rand_auts,
	};
	int len = akv_dia_build_mar(buf, 2048, &node, &m, v->hbh++, 7);

	ck_assert_int_gt(len, 0);
	return (size_t)len;
}

/* SAR/UAR/LIR with the common header AVPs; a SAR names S-CSCF scscf. */
static size_t
cxreq_from(struct env *v, uint8_t *buf, uint32_t cmd, const char *impi, const char *impu,
	   int sat_uat, const char *scscf)
{
	struct akv_dia_wr w;
	int len;

	akv_dia_wr_init(&w, buf, 2048);
	akv_dia_wr_hdr(&w, AKV_DIA_F_REQ | AKV_DIA_F_PROXY, cmd, AKV_DIA_APP_CX, v->hbh++, 8);
	akv_dia_put_str(&w, AKV_DIA_AVP_SESSION_ID, 0, "scscf.ims.test;1;43");
	akv_dia_put_vsai(&w, V3GPP, AKV_DIA_APP_CX);
	akv_dia_put_u32(&w, AKV_DIA_AVP_AUTH_SESSION_STATE, 0, 1);
	akv_dia_put_str(&w, AKV_DIA_AVP_ORIGIN_HOST, 0, "scscf.ims.test");
	akv_dia_put_str(&w, AKV_DIA_AVP_ORIGIN_REALM, 0, "ims.test");
	akv_dia_put_str(&w, AKV_DIA_AVP_DESTINATION_REALM, 0, "ims.test");
	if (impi)
		akv_dia_put_str(&w, AKV_DIA_AVP_USER_NAME, 0, impi);
	if (impu)
		akv_dia_put_str(&w, AKV_DIA_AVP_PUBLIC_IDENTITY, V3GPP, impu);
	if (cmd == AKV_DIA_CMD_SA) {
		akv_dia_put_str(&w, AKV_DIA_AVP_SERVER_NAME, V3GPP, scscf);
		akv_dia_put_u32(&w, AKV_DIA_AVP_SERVER_ASSIGNMENT_TYPE, V3GPP, (uint32_t)sat_uat);
		akv_dia_put_u32(&w, AKV_DIA_AVP_USER_DATA_ALREADY_AVAILABLE, V3GPP, 0);
	} else if (cmd == AKV_DIA_CMD_UA) {
		akv_dia_put_u32(&w, AKV_DIA_AVP_USER_AUTHORIZATION_TYPE, V3GPP, (uint32_t)sat_uat);
	}
	len = akv_dia_wr_finish(&w);
	ck_assert_int_gt(len, 0);
	return (size_t)len;
}

static size_t
cxreq(struct env *v, uint8_t *buf, uint32_t cmd, const char *impi, const char *impu, int sat_uat)
{
	return cxreq_from(v, buf, cmd, impi, impu, sat_uat, "sip:scscf.ims.test:6060");
}

/* Result of an answer; checks it echoes Session-Id, VSAI, Auth-Session-State. */
/* Appends the AVP a with its padding at msg + *at (advanced past it);
 * returns where the copy starts. */
static uint8_t *
append_avp(uint8_t *msg, size_t *at, const struct akv_dia_avp *a)
{
	size_t padded = ((size_t)a->raw_len + 3) & ~(size_t)3;
	uint8_t *p = msg + *at;

	memcpy(p, a->raw, padded);
	*at += padded;
	return p;
}

static void
result(const uint8_t *out, size_t olen, uint32_t cmd, struct akv_dia_result *r)
{
	struct akv_dia_hdr h;
	struct akv_dia_avp a;
	uint32_t v;

	ck_assert_int_eq(akv_dia_parse_result(out, olen, &h, r), 0);
	ck_assert_uint_eq(h.cmd, cmd);
	ck_assert_uint_eq(h.app, AKV_DIA_APP_CX);
	ck_assert_uint_eq(h.flags, AKV_DIA_F_PROXY);
	ck_assert_int_eq(akv_dia_find(out + 20, olen - 20, AKV_DIA_AVP_SESSION_ID, 0, &a), 1);
	ck_assert_int_eq(akv_dia_find(out + 20, olen - 20,
				      AKV_DIA_AVP_VENDOR_SPECIFIC_APPLICATION_ID, 0, &a), 1);
	ck_assert_int_eq(akv_dia_find_u32(out + 20, olen - 20, AKV_DIA_AVP_AUTH_SESSION_STATE, 0,
					  &v), 1);
	ck_assert_uint_eq(v, 1);
	/* exactly one of Result-Code / Experimental-Result (TS 29.229 §6.2) */
	ck_assert((r->result_code != 0) != (r->exp_code != 0));
	if (r->exp_code)
		ck_assert_uint_eq(r->exp_vendor, V3GPP);
}

static void
maa_vec(const struct akv_dia_maa_item *it, struct akv_eng_vec *v)
{
	memset(v, 0, sizeof(*v));
	memcpy(v->rand, it->rand, 16);
	memcpy(v->autn, it->autn, 16);
	memcpy(v->xres, it->xres, it->xres_len);
	v->xres_len = it->xres_len;
	memcpy(v->ck, it->ck, 16);
	memcpy(v->ik, it->ik, 16);
}

static uint64_t
vec_sqn(const struct akv_sub *s, const struct akv_dia_maa_item *it)
{
	struct akv_mil_in in = { 0 };
	struct akv_mil_out o;
	uint8_t sqn[6];

	memcpy(in.k, s->k, 16);
	memcpy(in.opc, s->opc, 16);
	memcpy(in.rand, it->rand, 16);
	akv_mil_ref_get()->gen(&in, &o, 1, AKV_MIL_F2F5);
	for (int i = 0; i < 6; i++)
		sqn[i] = it->autn[i] ^ o.ak[i];
	return akv_sqn_get(sqn);
}

START_TEST(t_dia_cx_mar_vectors)
{
	struct env v;
	uint8_t m[2048], out[AKV_PROTO_OUT_MAX];
	size_t olen;
	struct akv_dia_hdr h;
	struct akv_dia_result r;
	struct akv_dia_maa_item items[8];
	unsigned ni;
	uint32_t n;
	struct akv_dia_avp a;

	env_open(&v);
	ck_assert_int_eq(roundtrip(&v, m, mar(&v, m, IMPI, IMPU, "Digest-AKAv1-MD5", 3, NULL), out,
				   &olen), AKV_PROTO_DISPATCH);
	result(out, olen, AKV_DIA_CMD_MA, &r);
	ck_assert_uint_eq(r.result_code, 2001);
	ck_assert_int_eq(akv_dia_parse_maa(out, olen, &h, &r, items, 8, &ni), 0);
	ck_assert_uint_eq(ni, 3);
	ck_assert_int_eq(akv_dia_find_u32(out + 20, olen - 20, AKV_DIA_AVP_SIP_NUMBER_AUTH_ITEMS,
					  V3GPP, &n), 1);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(akv_dia_find(out + 20, olen - 20, AKV_DIA_AVP_USER_NAME, 0, &a), 1);
	ck_assert_mem_eq(a.data, IMPI, strlen(IMPI));
	ck_assert_int_eq(akv_dia_find(out + 20, olen - 20, AKV_DIA_AVP_PUBLIC_IDENTITY, V3GPP, &a),
			 1);
	ck_assert_mem_eq(a.data, IMPU, strlen(IMPU));
	for (unsigned i = 0; i < ni; i++) {
		struct akv_eng_vec ev;

		ck_assert_uint_eq(items[i].item_number, i + 1);
		ck_assert_str_eq(items[i].scheme, "Digest-AKAv1-MD5");
		ck_assert_uint_eq(items[i].xres_len, 8);
		maa_vec(&items[i], &ev);
		ev.sqn = vec_sqn(&v.alice, &items[i]);
		/* MAC-A, XRES, CK, IK recomputed by the reference Milenage */
		fx_check_vec(&v.alice, &ev, 1, NULL);
		if (i)
			ck_assert_uint_gt(vec_sqn(&v.alice, &items[i]),
					  vec_sqn(&v.alice, &items[i - 1]));
	}

	/* "Unknown" lets the HSS choose: AKAv1 where allowed (eng.h
	 * AKV_SCHEME_ANY), else AKAv2; bob, AKAv2-only, gets AKAv2 both when
	 * he asks for it and when the S-CSCF leaves it to us. */
	roundtrip(&v, m, mar(&v, m, IMPI, IMPU, "Unknown", 1, NULL), out, &olen);
	ck_assert_int_eq(akv_dia_parse_maa(out, olen, &h, &r, items, 8, &ni), 0);
	ck_assert_uint_eq(ni, 1);
	ck_assert_str_eq(items[0].scheme, "Digest-AKAv1-MD5");
	roundtrip(&v, m, mar(&v, m, "bob@ims.test", "sip:bob@ims.test", "Unknown", 1, NULL), out,
		  &olen);
	ck_assert_int_eq(akv_dia_parse_maa(out, olen, &h, &r, items, 8, &ni), 0);
	ck_assert_uint_eq(r.result_code, 2001);
	ck_assert_str_eq(items[0].scheme, "Digest-AKAv2-MD5");
	roundtrip(&v, m, mar(&v, m, "bob@ims.test", "sip:bob@ims.test", "Digest-AKAv2-MD5", 1,
			     NULL), out, &olen);
	ck_assert_int_eq(akv_dia_parse_maa(out, olen, &h, &r, items, 8, &ni), 0);
	ck_assert_uint_eq(r.result_code, 2001);
	ck_assert_str_eq(items[0].scheme, "Digest-AKAv2-MD5");

	/* More than the cap: capped, and the count says how many came. */
	roundtrip(&v, m, mar(&v, m, IMPI, IMPU, "Digest-AKAv1-MD5", 1000, NULL), out, &olen);
	ck_assert_int_eq(akv_dia_parse_maa(out, olen, &h, &r, items, 8, &ni), 0);
	ck_assert_uint_eq(ni, 8);
	env_close(&v);
}
END_TEST

START_TEST(t_dia_cx_mar_errors)
{
	struct env v;
	uint8_t m[2048], out[AKV_PROTO_OUT_MAX];
	size_t olen, n;
	struct akv_dia_result r;
	struct akv_dia_avp f;
	static const uint8_t short_auth[29];

	env_open(&v);
	roundtrip(&v, m, mar(&v, m, "nobody@ims.test", "sip:nobody@ims.test", "Digest-AKAv1-MD5",
			     1, NULL), out, &olen);
	result(out, olen, AKV_DIA_CMD_MA, &r);
	ck_assert_uint_eq(r.exp_code, 5001);	/* DIAMETER_ERROR_USER_UNKNOWN */
	roundtrip(&v, m, mar(&v, m, IMPI, "sip:bob@ims.test", "Digest-AKAv1-MD5", 1, NULL), out,
		  &olen);
	result(out, olen, AKV_DIA_CMD_MA, &r);
	ck_assert_uint_eq(r.exp_code, 5002);	/* IDENTITIES_DONT_MATCH */
	ck_assert_int_eq(roundtrip(&v, m, mar(&v, m, IMPI, IMPU, "SIP Digest", 1, NULL), out,
				   &olen), AKV_PROTO_REPLY);
	result(out, olen, AKV_DIA_CMD_MA, &r);
	ck_assert_uint_eq(r.exp_code, 5006);	/* AUTH_SCHEME_NOT_SUPPORTED */
	/* bob may only use AKAv2: AKAv1 is refused by the engine */
	roundtrip(&v, m, mar(&v, m, "bob@ims.test", "sip:bob@ims.test", "Digest-AKAv1-MD5", 1,
			     NULL), out, &olen);
	result(out, olen, AKV_DIA_CMD_MA, &r);
	ck_assert_uint_eq(r.exp_code, 5006);

	/* SIP-Authorization that is not RAND||AUTS: 5004 + Failed-AVP */
	{
		struct akv_dia_node node = { .origin_host = "s.test", .origin_realm = "ims.test" };
		struct akv_dia_wr w;

		akv_dia_wr_init(&w, m, sizeof(m));
		akv_dia_wr_hdr(&w, AKV_DIA_F_REQ | AKV_DIA_F_PROXY, 303, AKV_DIA_APP_CX, 5, 5);
		akv_dia_put_str(&w, AKV_DIA_AVP_SESSION_ID, 0, "s.test;1;1");
		akv_dia_put_str(&w, AKV_DIA_AVP_ORIGIN_HOST, 0, node.origin_host);
		akv_dia_put_str(&w, AKV_DIA_AVP_ORIGIN_REALM, 0, node.origin_realm);
		akv_dia_put_str(&w, AKV_DIA_AVP_DESTINATION_REALM, 0, "ims.test");
		akv_dia_put_vsai(&w, V3GPP, AKV_DIA_APP_CX);
		akv_dia_put_u32(&w, AKV_DIA_AVP_AUTH_SESSION_STATE, 0, 1);
		akv_dia_put_str(&w, AKV_DIA_AVP_PUBLIC_IDENTITY, V3GPP, IMPU);
		akv_dia_put_str(&w, AKV_DIA_AVP_USER_NAME, 0, IMPI);
		akv_dia_put_u32(&w, AKV_DIA_AVP_SIP_NUMBER_AUTH_ITEMS, V3GPP, 1);
		akv_dia_group_begin(&w, AKV_DIA_AVP_SIP_AUTH_DATA_ITEM, V3GPP);
		akv_dia_put(&w, AKV_DIA_AVP_SIP_AUTHORIZATION, V3GPP, short_auth, 29);
		akv_dia_group_end(&w);
		akv_dia_put_str(&w, AKV_DIA_AVP_SERVER_NAME, V3GPP, "sip:s.test");
		n = (size_t)akv_dia_wr_finish(&w);
	}
	ck_assert_int_eq(roundtrip(&v, m, n, out, &olen), AKV_PROTO_REPLY);
	result(out, olen, AKV_DIA_CMD_MA, &r);
	ck_assert_uint_eq(r.result_code, AKV_DIA_INVALID_AVP_VALUE);
	ck_assert_int_eq(fx_failed_avp(out, olen, &f), 1);
	ck_assert_uint_eq(f.code, AKV_DIA_AVP_SIP_AUTHORIZATION);
	ck_assert_uint_eq(f.len, 29);

	/* Each mandatory AVP of the MAR removed in turn: 5005 naming it. */
	{
		static const uint32_t codes[][2] = {
			{ AKV_DIA_AVP_SESSION_ID, 0 }, { AKV_DIA_AVP_ORIGIN_HOST, 0 },
			{ AKV_DIA_AVP_DESTINATION_REALM, 0 },
			{ AKV_DIA_AVP_VENDOR_SPECIFIC_APPLICATION_ID, 0 },
			{ AKV_DIA_AVP_AUTH_SESSION_STATE, 0 }, { AKV_DIA_AVP_USER_NAME, 0 },
			{ AKV_DIA_AVP_PUBLIC_IDENTITY, V3GPP },
			{ AKV_DIA_AVP_SIP_NUMBER_AUTH_ITEMS, V3GPP },
			{ AKV_DIA_AVP_SIP_AUTH_DATA_ITEM, V3GPP }, { AKV_DIA_AVP_SERVER_NAME, V3GPP },
		};
		uint8_t full[2048], cut[2048];
		size_t fl = mar(&v, full, IMPI, IMPU, "Digest-AKAv1-MD5", 1, NULL);

		for (size_t k = 0; k < sizeof(codes) / sizeof(codes[0]); k++) {
			struct akv_dia_it it;
			struct akv_dia_avp a;
			size_t cl = 20;

			memcpy(cut, full, 20);
			akv_dia_it_init(&it, full + 20, fl - 20);
			while (akv_dia_it_next(&it, &a) > 0)
				if (a.code != codes[k][0] || a.vendor != codes[k][1])
					append_avp(cut, &cl, &a);
			akv_put_be24(cut + 1, (uint32_t)cl);
			ck_assert_int_eq(roundtrip(&v, cut, cl, out, &olen), AKV_PROTO_REPLY);
			ck_assert_int_eq(akv_dia_parse_result(out, olen, &(struct akv_dia_hdr){0}, &r),
					 0);
			ck_assert_uint_eq(r.result_code, AKV_DIA_MISSING_AVP);
			ck_assert_int_eq(fx_failed_avp(out, olen, &f), 1);
			ck_assert_uint_eq(f.code, codes[k][0]);
			ck_assert_uint_eq(f.vendor, codes[k][1]);
		}
	}
	env_close(&v);
}
END_TEST

START_TEST(t_dia_cx_mar_resync)
{
	struct env v;
	uint8_t m[2048], out[AKV_PROTO_OUT_MAX], ra[30];
	size_t olen;
	struct akv_dia_hdr h;
	struct akv_dia_result r;
	struct akv_dia_maa_item items[2];
	unsigned ni;
	uint64_t sqn_ms = (500ull << 5) | 3, before;

	env_open(&v);
	roundtrip(&v, m, mar(&v, m, IMPI, IMPU, "Digest-AKAv1-MD5", 1, NULL), out, &olen);
	ck_assert_int_eq(akv_dia_parse_maa(out, olen, &h, &r, items, 2, &ni), 0);
	before = vec_sqn(&v.alice, &items[0]);
	ck_assert_uint_lt(before, sqn_ms);

	/* The USIM is ahead (SQN_MS): AUTS for the RAND we sent. */
	memcpy(ra, items[0].rand, 16);
	fx_auts(&v.alice, items[0].rand, sqn_ms, ra + 16);
	ck_assert_int_eq(roundtrip(&v, m, mar(&v, m, IMPI, IMPU, "Digest-AKAv1-MD5", 1, ra), out,
				   &olen), AKV_PROTO_DISPATCH);
	ck_assert_int_eq(akv_dia_parse_maa(out, olen, &h, &r, items, 2, &ni), 0);
	ck_assert_uint_eq(r.result_code, 2001);
	ck_assert_uint_eq(ni, 1);
	/* HSS-style: XRES travels on resync too, and SEQ moved past SQN_MS */
	ck_assert_uint_eq(items[0].xres_len, 8);
	ck_assert_uint_gt(vec_sqn(&v.alice, &items[0]) >> 5, sqn_ms >> 5);
	{
		struct akv_eng_vec ev;

		maa_vec(&items[0], &ev);
		ev.sqn = vec_sqn(&v.alice, &items[0]);
		fx_check_vec(&v.alice, &ev, 1, NULL);
	}

	/* A wrong MAC-S: DIAMETER_UNABLE_TO_COMPLY, SQN untouched. */
	before = vec_sqn(&v.alice, &items[0]);
	memcpy(ra, items[0].rand, 16);
	fx_auts(&v.alice, items[0].rand, sqn_ms + (1000ull << 5), ra + 16);
	ra[29] ^= 1;
	roundtrip(&v, m, mar(&v, m, IMPI, IMPU, "Digest-AKAv1-MD5", 1, ra), out, &olen);
	result(out, olen, AKV_DIA_CMD_MA, &r);
	ck_assert_uint_eq(r.result_code, AKV_DIA_UNABLE_TO_COMPLY);
	roundtrip(&v, m, mar(&v, m, IMPI, IMPU, "Digest-AKAv1-MD5", 1, NULL), out, &olen);
	ck_assert_int_eq(akv_dia_parse_maa(out, olen, &h, &r, items, 2, &ni), 0);
	ck_assert_uint_eq(vec_sqn(&v.alice, &items[0]) >> 5, (before >> 5) + 1);
	env_close(&v);
}
END_TEST

static int
find_str(const uint8_t *out, size_t olen, uint32_t code, uint32_t vendor, const char *want)
{
	struct akv_dia_avp a;

	if (!akv_dia_find(out + 20, olen - 20, code, vendor, &a))
		return 0;
	return a.len == strlen(want) && !memcmp(a.data, want, a.len);
}

/* 1 when some top-level AVP of the answer has no data: Kamailio 5.6.3's cdp
 * drops such a message whole ("AAACreateAVP: NULL value received for param
 * data/length (AVP Code 603 ...)", tests/interop/kamailio_icscf.sh), so its
 * I-CSCF never sees the UAA/LIA and times out. */
static int
has_empty_avp(const uint8_t *out, size_t olen)
{
	struct akv_dia_it it;
	struct akv_dia_avp a;

	akv_dia_it_init(&it, out + 20, olen - 20);
	while (akv_dia_it_next(&it, &a) == 1)
		if (!a.len)
			return 1;
	return 0;
}

START_TEST(t_dia_cx_registration)
{
	struct env v;
	uint8_t m[2048], out[AKV_PROTO_OUT_MAX];
	size_t olen;
	struct akv_dia_result r;
	struct akv_dia_avp ud, a;
	const char *scscf = "sip:scscf.ims.test:6060";

	env_open(&v);
	/* Before any SAR: UAR -> FIRST_REGISTRATION, LIR -> UNREGISTERED_SERVICE,
	 * neither with a Server-Name, nor with an empty Server-Capabilities
	 * (optional in TS 29.228 tables 6.1.1.2 / 6.1.4.2: akavs requires no
	 * capability, the I-CSCF picks from its own list) */
	roundtrip(&v, m, cxreq(&v, m, AKV_DIA_CMD_UA, IMPI, IMPU, AKV_CX_UAT_REGISTRATION), out,
		  &olen);
	result(out, olen, AKV_DIA_CMD_UA, &r);
	ck_assert_uint_eq(r.exp_code, AKV_CX_EXP_FIRST_REGISTRATION);
	ck_assert_int_eq(akv_dia_find(out + 20, olen - 20, AKV_DIA_AVP_SERVER_NAME, V3GPP, &a), 0);
	ck_assert_int_eq(has_empty_avp(out, olen), 0);
	roundtrip(&v, m, cxreq(&v, m, AKV_DIA_CMD_LI, NULL, IMPU2, 0), out, &olen);
	result(out, olen, AKV_DIA_CMD_LI, &r);
	ck_assert_uint_eq(r.exp_code, AKV_CX_EXP_UNREGISTERED_SERVICE);
	ck_assert_int_eq(akv_dia_find(out + 20, olen - 20, AKV_DIA_AVP_SERVER_NAME, V3GPP, &a), 0);
	ck_assert_int_eq(has_empty_avp(out, olen), 0);

	/* SAR REGISTRATION: 2001 + User-Data with the IMPI and both IMPUs */
	roundtrip(&v, m, cxreq(&v, m, AKV_DIA_CMD_SA, IMPI, IMPU, AKV_CX_SAT_REGISTRATION), out,
		  &olen);
	result(out, olen, AKV_DIA_CMD_SA, &r);
	ck_assert_uint_eq(r.result_code, 2001);
	ck_assert_int_eq(akv_dia_find(out + 20, olen - 20, AKV_DIA_AVP_USER_DATA, V3GPP, &ud), 1);
	ck_assert_ptr_nonnull(memmem(ud.data, ud.len, "<PrivateID>" IMPI "</PrivateID>",
				     strlen("<PrivateID>" IMPI "</PrivateID>")));
	ck_assert_ptr_nonnull(memmem(ud.data, ud.len, "<Identity>" IMPU "</Identity>",
				     strlen("<Identity>" IMPU "</Identity>")));
	ck_assert_ptr_nonnull(memmem(ud.data, ud.len, "<Identity>" IMPU2 "</Identity>",
				     strlen("<Identity>" IMPU2 "</Identity>")));
	ck_assert(find_str(out, olen, AKV_DIA_AVP_USER_NAME, 0, IMPI));

	/* I-CSCF queries now find the S-CSCF; LIR goes through the IMPU index */
	roundtrip(&v, m, cxreq(&v, m, AKV_DIA_CMD_UA, IMPI, IMPU, AKV_CX_UAT_REGISTRATION), out,
		  &olen);
	result(out, olen, AKV_DIA_CMD_UA, &r);
	ck_assert_uint_eq(r.exp_code, AKV_CX_EXP_SUBSEQUENT_REGISTRATION);
	ck_assert(find_str(out, olen, AKV_DIA_AVP_SERVER_NAME, V3GPP, scscf));
	roundtrip(&v, m, cxreq(&v, m, AKV_DIA_CMD_LI, NULL, IMPU2, 0), out, &olen);
	result(out, olen, AKV_DIA_CMD_LI, &r);
	ck_assert_uint_eq(r.result_code, 2001);
	ck_assert(find_str(out, olen, AKV_DIA_AVP_SERVER_NAME, V3GPP, scscf));

	/* SAR with only a Public-Identity resolves the IMPI by index. */
	roundtrip(&v, m, cxreq(&v, m, AKV_DIA_CMD_SA, NULL, IMPU2, AKV_CX_SAT_RE_REGISTRATION), out,
		  &olen);
	result(out, olen, AKV_DIA_CMD_SA, &r);
	ck_assert_uint_eq(r.result_code, 2001);
	ck_assert(find_str(out, olen, AKV_DIA_AVP_USER_NAME, 0, IMPI));

	/* Survives a restart: state is in the store. */
	akv_eng_free(v.e);
	{
		struct akv_eng_cfg ecfg;

		akv_eng_cfg_default(&ecfg);
		v.e = fx_eng_new(&ecfg, v.st);
	}
	roundtrip(&v, m, cxreq(&v, m, AKV_DIA_CMD_LI, NULL, IMPU, 0), out, &olen);
	result(out, olen, AKV_DIA_CMD_LI, &r);
	ck_assert_uint_eq(r.result_code, 2001);

	/* USER_DEREGISTRATION clears it */
	roundtrip(&v, m, cxreq(&v, m, AKV_DIA_CMD_SA, IMPI, IMPU, AKV_CX_SAT_USER_DEREGISTRATION),
		  out, &olen);
	result(out, olen, AKV_DIA_CMD_SA, &r);
	ck_assert_uint_eq(r.result_code, 2001);
	ck_assert_int_eq(akv_dia_find(out + 20, olen - 20, AKV_DIA_AVP_USER_DATA, V3GPP, &ud), 0);
	roundtrip(&v, m, cxreq(&v, m, AKV_DIA_CMD_LI, NULL, IMPU, 0), out, &olen);
	result(out, olen, AKV_DIA_CMD_LI, &r);
	ck_assert_uint_eq(r.exp_code, AKV_CX_EXP_UNREGISTERED_SERVICE);
	roundtrip(&v, m, cxreq(&v, m, AKV_DIA_CMD_UA, IMPI, IMPU, AKV_CX_UAT_DE_REGISTRATION), out,
		  &olen);
	result(out, olen, AKV_DIA_CMD_UA, &r);
	ck_assert_uint_eq(r.exp_code, AKV_CX_EXP_IDENTITY_NOT_REGISTERED);

	/* Unknown users and mismatched identities */
	roundtrip(&v, m, cxreq(&v, m, AKV_DIA_CMD_SA, "nobody@x", NULL, 1), out, &olen);
	result(out, olen, AKV_DIA_CMD_SA, &r);
	ck_assert_uint_eq(r.exp_code, AKV_CX_EXP_USER_UNKNOWN);
	roundtrip(&v, m, cxreq(&v, m, AKV_DIA_CMD_LI, NULL, "sip:nobody@x", 0), out, &olen);
	result(out, olen, AKV_DIA_CMD_LI, &r);
	ck_assert_uint_eq(r.exp_code, AKV_CX_EXP_USER_UNKNOWN);
	roundtrip(&v, m, cxreq(&v, m, AKV_DIA_CMD_UA, IMPI, "sip:bob@ims.test", 0), out, &olen);
	result(out, olen, AKV_DIA_CMD_UA, &r);
	ck_assert_uint_eq(r.exp_code, AKV_CX_EXP_IDENTITIES_DONT_MATCH);
	/* An assignment type Cx does not use */
	roundtrip(&v, m, cxreq(&v, m, AKV_DIA_CMD_SA, IMPI, IMPU, 13), out, &olen);
	result(out, olen, AKV_DIA_CMD_SA, &r);
	ck_assert_uint_eq(r.exp_code, AKV_CX_EXP_ERROR_IN_ASSIGNMENT_TYPE);
	env_close(&v);
}
END_TEST

/* One LIR for IMPU: its Experimental-Result code (0 for a base 2001), and
 * whether a Server-Name came back (never as an empty AVP). */
static uint32_t
lir_exp(struct env *v, int *has_name)
{
	uint8_t m[2048], out[AKV_PROTO_OUT_MAX];
	size_t olen;
	struct akv_dia_result r;
	struct akv_dia_avp a;

	roundtrip(v, m, cxreq(v, m, AKV_DIA_CMD_LI, NULL, IMPU, 0), out, &olen);
	result(out, olen, AKV_DIA_CMD_LI, &r);
	ck_assert_int_eq(has_empty_avp(out, olen), 0);
	*has_name = akv_dia_find(out + 20, olen - 20, AKV_DIA_AVP_SERVER_NAME, V3GPP, &a) == 1;
	if (!r.exp_code)
		ck_assert_uint_eq(r.result_code, 2001);
	return r.exp_code;
}

static void
sar(struct env *v, unsigned sat)
{
	uint8_t m[2048], out[AKV_PROTO_OUT_MAX];
	size_t olen;
	struct akv_dia_result r;

	roundtrip(v, m, cxreq(v, m, AKV_DIA_CMD_SA, IMPI, IMPU, sat), out, &olen);
	result(out, olen, AKV_DIA_CMD_SA, &r);
	ck_assert_uint_eq(r.result_code, 2001);
}

/* [diameter] unregistered-services = no: TS 29.228 §6.1.4.1, an identity
 * with no S-CSCF and no services for the unregistered state is answered
 * DIAMETER_ERROR_IDENTITY_NOT_REGISTERED (5003) instead of
 * DIAMETER_UNREGISTERED_SERVICE (2003); one with an S-CSCF still gets its
 * name. Both with the registration cache and reading the store each time. */
START_TEST(t_dia_cx_lir_no_unreg_services)
{
	struct env v;
	int name;

	env_open_cfg(&v, 0, _i);
	ck_assert_uint_eq(lir_exp(&v, &name), AKV_CX_EXP_IDENTITY_NOT_REGISTERED);
	ck_assert_int_eq(name, 0);
	sar(&v, AKV_CX_SAT_REGISTRATION);
	ck_assert_uint_eq(lir_exp(&v, &name), 0);
	ck_assert_int_eq(name, 1);
	sar(&v, AKV_CX_SAT_USER_DEREGISTRATION);
	ck_assert_uint_eq(lir_exp(&v, &name), AKV_CX_EXP_IDENTITY_NOT_REGISTERED);
	ck_assert_int_eq(name, 0);
	/* the S-CSCF kept the profile (name stored, unregistered): routed */
	sar(&v, AKV_CX_SAT_UNREGISTERED_USER);
	ck_assert_uint_eq(lir_exp(&v, &name), 0);
	ck_assert_int_eq(name, 1);
	env_close(&v);

	/* the default: 2003 for the same identity before any SAR */
	env_open_cfg(&v, 1, _i);
	ck_assert_uint_eq(lir_exp(&v, &name), AKV_CX_EXP_UNREGISTERED_SERVICE);
	ck_assert_int_eq(name, 0);
	env_close(&v);
}
END_TEST

/* TS 29.228 §6.1.2.1, §8.1: a SAR UNREGISTERED_USER from an S-CSCF other
 * than the one holding the user (registered, or kept for unregistered
 * services) changes nothing and gets 5005 with the holder's Server-Name; a
 * de-registration from such an S-CSCF gets 5012 and changes nothing; from
 * the holder itself, or for a user nobody holds, they are stored. */
START_TEST(t_dia_cx_sar_unregistered_user_elsewhere)
{
	const char *s1 = "sip:scscf.ims.test:6060", *s2 = "sip:scscf2.ims.test:6062";
	uint8_t m[2048], out[AKV_PROTO_OUT_MAX];
	size_t olen;
	struct akv_dia_result r;
	struct env v;
	int name;

	env_open_cfg(&v, 1, _i);
	sar(&v, AKV_CX_SAT_REGISTRATION); /* at s1 */
	/* §8.1: s2 (which the user left, say) cannot de-register it at s1 */
	roundtrip(&v, m,
		  cxreq_from(&v, m, AKV_DIA_CMD_SA, IMPI, IMPU, AKV_CX_SAT_TIMEOUT_DEREGISTRATION,
			     s2),
		  out, &olen);
	result(out, olen, AKV_DIA_CMD_SA, &r);
	ck_assert_uint_eq(r.result_code, AKV_CX_RC_UNABLE_TO_COMPLY);
	ck_assert_uint_eq(lir_exp(&v, &name), 0);
	ck_assert_int_eq(name, 1);
	for (int k = 0; k < 2; k++) {
		roundtrip(
		    &v, m,
		    cxreq_from(&v, m, AKV_DIA_CMD_SA, IMPI, IMPU, AKV_CX_SAT_UNREGISTERED_USER, s2),
		    out, &olen);
		result(out, olen, AKV_DIA_CMD_SA, &r);
		ck_assert_uint_eq(r.exp_code, AKV_CX_EXP_IDENTITY_ALREADY_REGISTERED);
		ck_assert(find_str(out, olen, AKV_DIA_AVP_SERVER_NAME, V3GPP, s1));
		ck_assert_int_eq(has_empty_avp(out, olen), 0);
		/* still routed to s1 */
		ck_assert_uint_eq(lir_exp(&v, &name), 0);
		ck_assert_int_eq(name, 1);
		/* the second round: s1 keeps the profile for unregistered services */
		sar(&v, AKV_CX_SAT_USER_DEREG_STORE_NAME);
	}
	/* nobody holds the user: s2 may take it */
	sar(&v, AKV_CX_SAT_USER_DEREGISTRATION);
	roundtrip(&v, m,
		  cxreq_from(&v, m, AKV_DIA_CMD_SA, IMPI, IMPU, AKV_CX_SAT_UNREGISTERED_USER, s2),
		  out, &olen);
	result(out, olen, AKV_DIA_CMD_SA, &r);
	ck_assert_uint_eq(r.result_code, 2001);
	roundtrip(&v, m, cxreq(&v, m, AKV_DIA_CMD_LI, NULL, IMPU, 0), out, &olen);
	ck_assert(find_str(out, olen, AKV_DIA_AVP_SERVER_NAME, V3GPP, s2));
	env_close(&v);
}
END_TEST

/* A MAR from S-CSCF `scscf`: its answer's Result-Code. */
static uint32_t
mar_from(struct env *v, const char *scscf)
{
	struct akv_dia_node node = { .origin_host = "scscf2.ims.test", .origin_realm = "ims.test" };
	struct akv_dia_mar mq = {
		.session_id = "scscf2.ims.test;1;44", .dest_realm = "ims.test", .impi = IMPI,
		.impu = IMPU, .scheme = "Digest-AKAv1-MD5", .server_name = scscf, .n = 1,
	};
	uint8_t m[2048], out[AKV_PROTO_OUT_MAX];
	size_t olen;
	struct akv_dia_result r;
	int len = akv_dia_build_mar(m, sizeof(m), &node, &mq, v->hbh++, 7);

	ck_assert_int_gt(len, 0);
	roundtrip(v, m, (size_t)len, out, &olen);
	result(out, olen, AKV_DIA_CMD_MA, &r);
	return r.result_code;
}

/* One UAR of type `uat` for IMPI/IMPU: its Experimental-Result code, and
 * the Server-Name it carries copied to name ("" when none). */
static uint32_t
uar_name(struct env *v, unsigned uat, char name[256])
{
	uint8_t m[2048], out[AKV_PROTO_OUT_MAX];
	size_t olen;
	struct akv_dia_result r;
	struct akv_dia_avp a;

	roundtrip(v, m, cxreq(v, m, AKV_DIA_CMD_UA, IMPI, IMPU, (int)uat), out, &olen);
	result(out, olen, AKV_DIA_CMD_UA, &r);
	ck_assert_int_eq(has_empty_avp(out, olen), 0);
	name[0] = '\0';
	if (akv_dia_find(out + 20, olen - 20, AKV_DIA_AVP_SERVER_NAME, V3GPP, &a) == 1) {
		ck_assert_uint_lt(a.len, 256);
		memcpy(name, a.data, a.len);
		name[a.len] = '\0';
	}
	return r.exp_code;
}

/* A UAR of type uat gets Experimental-Result exp with Server-Name want
 * ("": none). */
static void
uar_is(struct env *v, unsigned uat, uint32_t exp, const char *want)
{
	char name[256];

	ck_assert_uint_eq(uar_name(v, uat, name), exp);
	ck_assert_str_eq(name, want);
}

/* TS 29.228 §6.3.1 / §6.1.1.1 ("authentication pending"): after a MAR, the
 * I-CSCF's UAR names the S-CSCF that holds the vectors, with
 * DIAMETER_FIRST_REGISTRATION for a user not yet registered, and (§8.1)
 * SUBSEQUENT_REGISTRATION for one registered at another S-CSCF; a SAR
 * settles it. With the registration cache and without. */
START_TEST(t_dia_cx_uar_auth_pending)
{
	const char *s2 = "sip:scscf2.ims.test:6062", *s1 = "sip:scscf.ims.test:6060";
	struct akv_cx_pending *p = akv_cx_pending_new(1024, AKV_CX_PENDING_TTL_MS);
	struct akv_cx_pending_stats st;
	struct env v;

	env_open_pending(&v, 1, _i, p);
	uar_is(&v, AKV_CX_UAT_REGISTRATION, AKV_CX_EXP_FIRST_REGISTRATION, "");
	ck_assert_uint_eq(mar_from(&v, s2), 2001);
	uar_is(&v, AKV_CX_UAT_REGISTRATION, AKV_CX_EXP_FIRST_REGISTRATION, s2);
	/* asking for capabilities is asking for another S-CSCF */
	uar_is(&v, AKV_CX_UAT_REGISTRATION_AND_CAPABILITIES, AKV_CX_EXP_FIRST_REGISTRATION, "");
	/* a later MAR from another S-CSCF takes over */
	ck_assert_uint_eq(mar_from(&v, s1), 2001);
	uar_is(&v, AKV_CX_UAT_REGISTRATION, AKV_CX_EXP_FIRST_REGISTRATION, s1);

	/* registered: the state's name (cxreq's SARs come from s1, the
	 * S-CSCF of the memo too, which the SAR thus keeps) */
	sar(&v, AKV_CX_SAT_REGISTRATION);
	uar_is(&v, AKV_CX_UAT_REGISTRATION, AKV_CX_EXP_SUBSEQUENT_REGISTRATION, s1);
	/* §8.1: a MAR from another S-CSCF (the I-CSCF chose a new one) moves
	 * the user there: the next REGISTER goes to s2, which holds vectors */
	ck_assert_uint_eq(mar_from(&v, s2), 2001);
	uar_is(&v, AKV_CX_UAT_REGISTRATION, AKV_CX_EXP_SUBSEQUENT_REGISTRATION, s2);
	/* ... unless its authentication fails: still registered at s1 */
	sar(&v, AKV_CX_SAT_AUTHENTICATION_FAILURE);
	uar_is(&v, AKV_CX_UAT_REGISTRATION, AKV_CX_EXP_SUBSEQUENT_REGISTRATION, s1);
	/* ... or s1 registers the user after all */
	ck_assert_uint_eq(mar_from(&v, s2), 2001);
	uar_is(&v, AKV_CX_UAT_REGISTRATION, AKV_CX_EXP_SUBSEQUENT_REGISTRATION, s2);
	sar(&v, AKV_CX_SAT_RE_REGISTRATION);
	uar_is(&v, AKV_CX_UAT_REGISTRATION, AKV_CX_EXP_SUBSEQUENT_REGISTRATION, s1);
	/* de-registered: the SAR cleared the memo too */
	ck_assert_uint_eq(mar_from(&v, s2), 2001);
	sar(&v, AKV_CX_SAT_USER_DEREGISTRATION);
	uar_is(&v, AKV_CX_UAT_REGISTRATION, AKV_CX_EXP_FIRST_REGISTRATION, "");
	/* a failed authentication settles a first registration as well */
	ck_assert_uint_eq(mar_from(&v, s2), 2001);
	sar(&v, AKV_CX_SAT_AUTHENTICATION_FAILURE);
	uar_is(&v, AKV_CX_UAT_REGISTRATION, AKV_CX_EXP_FIRST_REGISTRATION, "");
	/* NO_ASSIGNMENT (a profile download) leaves a pending one alone. The
	 * engine noted s2 for this user before; the clears since moved the
	 * memo's generation, so it notes it again (eng.c note_pending) */
	ck_assert_uint_eq(mar_from(&v, s2), 2001);
	sar(&v, AKV_CX_SAT_NO_ASSIGNMENT);
	uar_is(&v, AKV_CX_UAT_REGISTRATION, AKV_CX_EXP_FIRST_REGISTRATION, s2);
	/* a resync MAR (SIP-Authorization = RAND || AUTS) notes nothing */
	{
		struct akv_dia_node node = { .origin_host = "scscf3.ims.test",
					     .origin_realm = "ims.test" };
		uint8_t ra[30] = { 1 }, m[2048], out[AKV_PROTO_OUT_MAX];
		struct akv_dia_mar mq = {
			.session_id = "scscf3.ims.test;1;45", .dest_realm = "ims.test",
			.impi = IMPI, .impu = IMPU, .scheme = "Digest-AKAv1-MD5",
			.server_name = "sip:scscf3.ims.test", .n = 1, .rand_auts = ra,
		};
		struct akv_test_slot sl;
		size_t olen;
		int len = akv_dia_build_mar(m, sizeof(m), &node, &mq, v.hbh++, 7);

		ck_assert_int_gt(len, 0);
		ck_assert_int_eq(fx_msg(&v.c, m, (size_t)len, &sl, out, &olen),
				 AKV_PROTO_DISPATCH);
		ck_assert_uint_eq(sl.req.op, AKV_OP_RESYNC);
		ck_assert_uint_eq(sl.req.cx_mar, 0);
	}
	akv_cx_pending_stats(p, &st);
	ck_assert_uint_eq(st.found, 6);
	env_close(&v);
	akv_cx_pending_free(p);

	/* no memo (auth-pending-max = 0): the answer akavs always gave */
	env_open_pending(&v, 1, _i, NULL);
	ck_assert_uint_eq(mar_from(&v, s2), 2001);
	uar_is(&v, AKV_CX_UAT_REGISTRATION, AKV_CX_EXP_FIRST_REGISTRATION, "");
	env_close(&v);
}
END_TEST

/* [diameter] user-data-template and watchdog-ms reach the connection. */
START_TEST(t_dia_cx_cfg_template)
{
	static struct akv_cfg cfg;
	struct env v;
	uint8_t m[2048], out[AKV_PROTO_OUT_MAX];
	size_t olen;
	struct akv_dia_result r;
	struct akv_dia_avp ud;
	const char *want = "<S><P>" IMPI "</P><I>" IMPU "</I><I>" IMPU2 "</I></S>";
	FILE *f;

	env_open(&v);
	akv_cfg_default(&cfg);
	cfg.dia.watchdog_ms = 5000;
	snprintf(cfg.dia.user_data_template, sizeof(cfg.dia.user_data_template), "%s/t.xml",
		 akv_test_tmpdir("diatmpl"));
	f = fopen(cfg.dia.user_data_template, "w");
	ck_assert_ptr_nonnull(f);
	fputs("<S><P>%PRIVATE%</P>%IMPU{<I>%IMPU%</I>}%</S>", f);
	fclose(f);
	fx_conn(&v.c, &cfg);
	fx_open(&v.c);
	roundtrip(&v, m, cxreq(&v, m, AKV_DIA_CMD_SA, IMPI, IMPU, AKV_CX_SAT_REGISTRATION), out,
		  &olen);
	result(out, olen, AKV_DIA_CMD_SA, &r);
	ck_assert_uint_eq(r.result_code, 2001);
	ck_assert_int_eq(akv_dia_find(out + 20, olen - 20, AKV_DIA_AVP_USER_DATA, V3GPP, &ud), 1);
	ck_assert_uint_eq(ud.len, strlen(want));
	ck_assert_mem_eq(ud.data, want, ud.len);
	ck_assert_int_eq(akv_dia_ops.on_idle(&v.c, 4999, 0, out, sizeof(out), &olen),
			 AKV_PROTO_REPLY);
	ck_assert_uint_eq(olen, 0);
	ck_assert_int_eq(akv_dia_ops.on_idle(&v.c, 5000, 0, out, sizeof(out), &olen),
			 AKV_PROTO_REPLY);
	ck_assert_uint_gt(olen, 0);	/* DWR */

	/* An unreadable template refuses the connection (conn_init fails). */
	snprintf(cfg.dia.user_data_template, sizeof(cfg.dia.user_data_template), "/nonexistent/x");
	{
		struct akv_proto_conn_info info = { .cfg = &cfg, .ind = -1 };

		ck_assert_int_lt(akv_dia_ops.conn_init(&v.c, &info, out, sizeof(out), &olen), 0);
	}
	env_close(&v);
}
END_TEST

/* ==== MAA encoder and the indexed request path ==== */

/* The MAA of TS 29.229 §6.1.8 through the generic writer, AVP by AVP: the
 * reference the direct-store encoder must match byte for byte. */
static size_t
ref_maa(uint8_t *buf, const struct akv_dia_conn *c, const uint8_t *mar, size_t mlen,
	const struct akv_eng_req *r, const char *scheme)
{
	struct akv_dia_wr w;
	struct akv_dia_hdr h;
	struct akv_dia_avp sid, a;
	struct akv_dia_it it;
	uint32_t rc = 2001, exp = 0;
	int n;

	akv_dia_hdr_decode(mar, mlen, &h);
	ck_assert_int_eq(akv_dia_find(mar + 20, mlen - 20, AKV_DIA_AVP_SESSION_ID, 0, &sid), 1);
	if (r->err == AKV_EUNKNOWN_USER)
		exp = AKV_CX_EXP_USER_UNKNOWN;
	else if (r->err == AKV_EIMPU_MISMATCH)
		exp = AKV_CX_EXP_IDENTITIES_DONT_MATCH;
	else if (r->err == AKV_ESCHEME)
		exp = AKV_CX_EXP_AUTH_SCHEME_NOT_SUPPORTED;
	else if (r->err)
		rc = AKV_DIA_UNABLE_TO_COMPLY;
	akv_dia_wr_init(&w, buf, AKV_PROTO_OUT_MAX);
	akv_dia_wr_hdr(&w, h.flags & AKV_DIA_F_PROXY, AKV_DIA_CMD_MA, AKV_DIA_APP_CX, h.hbh, h.e2e);
	akv_dia_put(&w, AKV_DIA_AVP_SESSION_ID, 0, sid.data, sid.len);
	akv_dia_put_vsai(&w, V3GPP, AKV_DIA_APP_CX);
	if (exp)
		akv_dia_put_exp_result(&w, V3GPP, exp);
	else
		akv_dia_put_u32(&w, AKV_DIA_AVP_RESULT_CODE, 0, rc);
	akv_dia_put_u32(&w, AKV_DIA_AVP_AUTH_SESSION_STATE, 0, 1);
	akv_dia_put_str(&w, AKV_DIA_AVP_ORIGIN_HOST, 0, c->origin_host);
	akv_dia_put_str(&w, AKV_DIA_AVP_ORIGIN_REALM, 0, c->origin_realm);
	if (r->impi_len)
		akv_dia_put(&w, AKV_DIA_AVP_USER_NAME, 0, r->impi, r->impi_len);
	if (r->impu_len)
		akv_dia_put(&w, AKV_DIA_AVP_PUBLIC_IDENTITY, V3GPP, r->impu, r->impu_len);
	if (!r->err) {
		akv_dia_put_u32(&w, AKV_DIA_AVP_SIP_NUMBER_AUTH_ITEMS, V3GPP, r->nvec);
		for (unsigned i = 0; i < r->nvec; i++) {
			const struct akv_eng_vec *v = &r->vec[i];
			uint8_t ra[32];

			memcpy(ra, v->rand, 16);
			memcpy(ra + 16, v->autn, 16);
			akv_dia_group_begin(&w, AKV_DIA_AVP_SIP_AUTH_DATA_ITEM, V3GPP);
			akv_dia_put_u32(&w, AKV_DIA_AVP_SIP_ITEM_NUMBER, V3GPP, i + 1);
			akv_dia_put_str(&w, AKV_DIA_AVP_SIP_AUTHENTICATION_SCHEME, V3GPP, scheme);
			akv_dia_put(&w, AKV_DIA_AVP_SIP_AUTHENTICATE, V3GPP, ra, 32);
			akv_dia_put(&w, AKV_DIA_AVP_SIP_AUTHORIZATION, V3GPP, v->xres, v->xres_len);
			akv_dia_put(&w, AKV_DIA_AVP_CONFIDENTIALITY_KEY, V3GPP, v->ck, 16);
			akv_dia_put(&w, AKV_DIA_AVP_INTEGRITY_KEY, V3GPP, v->ik, 16);
			akv_dia_group_end(&w);
		}
	}
	/* Proxy-Info of the request, in order (RFC 6733 §6.7.2) */
	akv_dia_it_init(&it, mar + 20, mlen - 20);
	while (akv_dia_it_next(&it, &a) > 0)
		if (a.code == AKV_DIA_AVP_PROXY_INFO && !a.vendor)
			akv_dia_put_raw(&w, a.raw, a.raw_len);
	n = akv_dia_wr_finish(&w);
	ck_assert_int_gt(n, 0);
	return (size_t)n;
}

/* A MAR with a Session-Id of sid_len bytes, optional Proxy-Infos and an
 * extra AVP, built AVP by AVP. */
static size_t
mar_x(uint8_t *buf, size_t sid_len, unsigned nproxy, const char *impi, const char *impu,
      const char *scheme, uint32_t n, uint8_t flags, uint32_t hbh)
{
	struct akv_dia_wr w;
	char sid[600];
	int len;

	memset(sid, 's', sizeof(sid));
	akv_dia_wr_init(&w, buf, 4096);
	akv_dia_wr_hdr(&w, flags, AKV_DIA_CMD_MA, AKV_DIA_APP_CX, hbh, hbh ^ 0x77);
	akv_dia_put(&w, AKV_DIA_AVP_SESSION_ID, 0, sid, sid_len);
	for (unsigned i = 0; i < nproxy; i++) {
		akv_dia_group_begin(&w, AKV_DIA_AVP_PROXY_INFO, 0);
		akv_dia_put_str(&w, AKV_DIA_AVP_PROXY_HOST, 0, "proxy.ims.test");
		akv_dia_put(&w, AKV_DIA_AVP_PROXY_STATE, 0, "state-x", 5 + i % 3);
		akv_dia_group_end(&w);
	}
	akv_dia_put_str(&w, AKV_DIA_AVP_ORIGIN_HOST, 0, "scscf.ims.test");
	akv_dia_put_str(&w, AKV_DIA_AVP_ORIGIN_REALM, 0, "ims.test");
	akv_dia_put_str(&w, AKV_DIA_AVP_DESTINATION_REALM, 0, "ims.test");
	akv_dia_put_vsai(&w, V3GPP, AKV_DIA_APP_CX);
	akv_dia_put_u32(&w, AKV_DIA_AVP_AUTH_SESSION_STATE, 0, 1);
	akv_dia_put_str(&w, AKV_DIA_AVP_PUBLIC_IDENTITY, V3GPP, impu);
	akv_dia_put_str(&w, AKV_DIA_AVP_USER_NAME, 0, impi);
	akv_dia_put_u32(&w, AKV_DIA_AVP_SIP_NUMBER_AUTH_ITEMS, V3GPP, n);
	akv_dia_group_begin(&w, AKV_DIA_AVP_SIP_AUTH_DATA_ITEM, V3GPP);
	akv_dia_put_str(&w, AKV_DIA_AVP_SIP_AUTHENTICATION_SCHEME, V3GPP, scheme);
	akv_dia_group_end(&w);
	akv_dia_put_str(&w, AKV_DIA_AVP_SERVER_NAME, V3GPP, "sip:scscf.ims.test");
	len = akv_dia_wr_finish(&w);
	ck_assert_int_gt(len, 0);
	return (size_t)len;
}

/* The direct-store MAA equals the generic writer's for every shape: vector
 * counts 0..AKV_VEC_MAX, XRES 4..16 bytes, each engine error, both schemes,
 * Session-Ids up to the limit, identities up to AKV_ID_MAX, Proxy-Info; and
 * a buffer one byte short is refused, never overrun. */
START_TEST(t_dia_cx_maa_bytes)
{
	static const int errs[] = { 0, AKV_EUNKNOWN_USER, AKV_EIMPU_MISMATCH, AKV_ESCHEME,
				    AKV_EAUTS_MAC, AKV_ESTORE };
	static uint8_t m[4096], out[AKV_PROTO_OUT_MAX], ref[AKV_PROTO_OUT_MAX];
	static const size_t sids[] = { 1, 3, 30, 511, 512 };
	char impi[AKV_ID_MAX + 1], impu[AKV_ID_MAX + 1];
	struct akv_dia_conn c;
	struct akv_test_slot s;
	uint64_t seed = 0x3aa;
	unsigned cases = 0;

	fx_conn(&c, NULL);
	fx_open(&c);
	for (int it = 0; it < 600; it++) {
		size_t il = 1 + akv_test_rand64(&seed) % AKV_ID_MAX, ul;
		size_t sl = sids[akv_test_rand64(&seed) % 5], n, olen, rl;
		unsigned nproxy = (unsigned)(akv_test_rand64(&seed) % 3);
		int scheme = (int)(akv_test_rand64(&seed) % 3), len;

		ul = 4 + akv_test_rand64(&seed) % (AKV_ID_MAX - 4);
		memset(impi, 'i', il);
		impi[il] = '\0';
		memcpy(impu, "sip:", 4);
		memset(impu + 4, 'u', ul - 4);
		impu[ul] = '\0';
		n = mar_x(m, sl, nproxy, impi, impu,
			  scheme == 2   ? "Digest-AKAv2-MD5"
			  : scheme == 1 ? "Digest-AKAv1-MD5"
					: "Unknown",
			  1 + (uint32_t)(akv_test_rand64(&seed) % 12),
			  (uint8_t)(AKV_DIA_F_REQ | (it & 1 ? AKV_DIA_F_PROXY : 0)),
			  (uint32_t)akv_test_rand64(&seed));
		ck_assert_int_eq(fx_msg(&c, m, n, &s, out, &olen), AKV_PROTO_DISPATCH);
		s.req.err = errs[akv_test_rand64(&seed) % 6];
		s.req.nvec = s.req.err ? 0 : (uint16_t)(akv_test_rand64(&seed) % (AKV_VEC_MAX + 1));
		s.req.scheme_used = (uint8_t)(akv_test_rand64(&seed) % 3);
		for (unsigned i = 0; i < s.req.nvec; i++) {
			akv_test_fill(&seed, (uint8_t *)&s.vec[i], sizeof(s.vec[i]));
			s.vec[i].xres_len = (uint8_t)(4 + akv_test_rand64(&seed) % 13);
		}
		if (akv_test_rand64(&seed) % 8 == 0)
			s.req.impu_len = 0;	/* identities are echoed only when present */
		len = akv_dia_ops.encode(&c, &s.slot, out, sizeof(out));
		rl = ref_maa(ref, &c, m, n, &s.req,
			     (s.req.scheme_used ? s.req.scheme_used : s.req.scheme) ==
					     AKV_SCHEME_AKAV2_MD5 ? "Digest-AKAv2-MD5"
								  : "Digest-AKAv1-MD5");
		ck_assert_int_eq(len, (int)rl);
		ck_assert_mem_eq(out, ref, rl);
		/* exactly enough room works; one byte less is refused */
		ck_assert_int_eq(akv_dia_ops.encode(&c, &s.slot, out, rl), (int)rl);
		ck_assert_mem_eq(out, ref, rl);
		ck_assert_int_eq(akv_dia_ops.encode(&c, &s.slot, out, rl - 1), AKV_ETOOBIG);
		cases++;
	}
	ck_assert_uint_eq(cases, 600);
}
END_TEST

/* The template MAA (dia_cx.c: 1..AKV_DIA_MAA_TPL_VEC vectors with one XRES
 * length) equals the generic writer's, as the template is built, reused and
 * rebuilt for other vector counts, XRES lengths and schemes; conns with the
 * longest Origin-Host/-Realm; identities and Session-Ids of every length,
 * Proxy-Info; a buffer one byte short refused. Answers the template does
 * not cover (mixed XRES lengths, more vectors) take the general path. */
START_TEST(t_dia_cx_maa_template_bytes)
{
	static uint8_t m[4096], out[AKV_PROTO_OUT_MAX], ref[AKV_PROTO_OUT_MAX];
	static const size_t sids[] = { 1, 3, 30, 511, 512 };
	static struct akv_cfg cfg;
	static struct akv_dia_conn conns[2];
	char impi[AKV_ID_MAX + 1], impu[AKV_ID_MAX + 1];
	struct akv_test_slot s;
	uint64_t seed = 0x7e3, uses = 0, general = 0;

	memset(cfg.dia.origin_host, 'h', AKV_CFG_NAME_MAX - 1);
	memset(cfg.dia.origin_realm, 'r', AKV_CFG_NAME_MAX - 1);
	fx_conn(&conns[0], NULL);
	fx_open(&conns[0]);
	fx_conn(&conns[1], &cfg);
	fx_open(&conns[1]);
	ck_assert_uint_eq(strlen(conns[1].origin_host), AKV_CFG_NAME_MAX - 1);
	for (int it = 0; it < 800; it++) {
		struct akv_dia_conn *c = &conns[it & 1];
		size_t il = 1 + akv_test_rand64(&seed) % AKV_ID_MAX, ul, n, olen, rl;
		size_t sl = sids[akv_test_rand64(&seed) % 5];
		/* few shapes, so the template is reused as well as rebuilt */
		unsigned nvec = 1 + (unsigned)(akv_test_rand64(&seed) % (AKV_DIA_MAA_TPL_VEC + 2));
		uint8_t xl =
		    (uint8_t)(akv_test_rand64(&seed) % 4 ? 8 : 4 + akv_test_rand64(&seed) % 13);
		int scheme = (int)(akv_test_rand64(&seed) % 3);
		int mixed = akv_test_rand64(&seed) % 10 == 0;
		const char *sname;
		uint64_t before = c->maa.uses;
		int len;

		ul = 4 + akv_test_rand64(&seed) % (AKV_ID_MAX - 4);
		memset(impi, 'a' + it % 26, il);
		impi[il] = '\0';
		memcpy(impu, "sip:", 4);
		memset(impu + 4, 'u', ul - 4);
		impu[ul] = '\0';
		sname = scheme == 2 ? "Digest-AKAv2-MD5"
			: scheme == 1 ? "Digest-AKAv1-MD5" : "Unknown";
		n = mar_x(m, sl, (unsigned)(akv_test_rand64(&seed) % 3), impi, impu, sname,
			  nvec, (uint8_t)(AKV_DIA_F_REQ | (it & 2 ? AKV_DIA_F_PROXY : 0)),
			  (uint32_t)akv_test_rand64(&seed));
		ck_assert_int_eq(fx_msg(c, m, n, &s, out, &olen), AKV_PROTO_DISPATCH);
		s.req.err = 0;
		s.req.nvec = (uint16_t)nvec;
		s.req.scheme_used = (uint8_t)(akv_test_rand64(&seed) % 3);
		for (unsigned i = 0; i < nvec; i++) {
			akv_test_fill(&seed, (uint8_t *)&s.vec[i], sizeof(s.vec[i]));
			s.vec[i].xres_len = xl;
		}
		if (mixed && nvec > 1)
			s.vec[nvec - 1].xres_len = (uint8_t)(xl == 16 ? 4 : xl + 1);
		if (akv_test_rand64(&seed) % 8 == 0)
			s.req.impi_len = 0;	/* identities are echoed only when present */
		len = akv_dia_ops.encode(c, &s.slot, out, sizeof(out));
		rl = ref_maa(ref, c, m, n, &s.req,
			     (s.req.scheme_used ? s.req.scheme_used : s.req.scheme) ==
					     AKV_SCHEME_AKAV2_MD5 ? "Digest-AKAv2-MD5"
								  : "Digest-AKAv1-MD5");
		ck_assert_int_eq(len, (int)rl);
		ck_assert_mem_eq(out, ref, rl);
		if (c->maa.uses > before)
			uses++;
		else
			general++;
		/* exactly enough room works; one byte less is refused */
		memset(out, 0xee, sizeof(out));
		ck_assert_int_eq(akv_dia_ops.encode(c, &s.slot, out, rl), (int)rl);
		ck_assert_mem_eq(out, ref, rl);
		ck_assert_int_eq(akv_dia_ops.encode(c, &s.slot, out, rl - 1), AKV_ETOOBIG);
	}
	/* both paths ran often */
	ck_assert_uint_gt(uses, 400);
	ck_assert_uint_gt(general, 80);
}
END_TEST

/* A MAR with the given Session-Id and identities (lengths explicit, any
 * bytes), in mar_x()'s AVP order. */
static size_t
mar_v(uint8_t *buf, const uint8_t *sid, size_t sl, const uint8_t *impi, size_t il,
      const uint8_t *impu, size_t ul, uint32_t n, uint32_t hbh)
{
	struct akv_dia_wr w;
	int len;

	akv_dia_wr_init(&w, buf, 4096);
	akv_dia_wr_hdr(&w, AKV_DIA_F_REQ | AKV_DIA_F_PROXY, AKV_DIA_CMD_MA, AKV_DIA_APP_CX, hbh,
		       hbh ^ 0x77);
	akv_dia_put(&w, AKV_DIA_AVP_SESSION_ID, 0, sid, sl);
	akv_dia_put_str(&w, AKV_DIA_AVP_ORIGIN_HOST, 0, "scscf.ims.test");
	akv_dia_put_str(&w, AKV_DIA_AVP_ORIGIN_REALM, 0, "ims.test");
	akv_dia_put_str(&w, AKV_DIA_AVP_DESTINATION_REALM, 0, "ims.test");
	akv_dia_put_vsai(&w, V3GPP, AKV_DIA_APP_CX);
	akv_dia_put_u32(&w, AKV_DIA_AVP_AUTH_SESSION_STATE, 0, 1);
	akv_dia_put(&w, AKV_DIA_AVP_PUBLIC_IDENTITY, V3GPP, impu, ul);
	akv_dia_put(&w, AKV_DIA_AVP_USER_NAME, 0, impi, il);
	akv_dia_put_u32(&w, AKV_DIA_AVP_SIP_NUMBER_AUTH_ITEMS, V3GPP, n);
	akv_dia_group_begin(&w, AKV_DIA_AVP_SIP_AUTH_DATA_ITEM, V3GPP);
	akv_dia_put_str(&w, AKV_DIA_AVP_SIP_AUTHENTICATION_SCHEME, V3GPP, "Digest-AKAv1-MD5");
	akv_dia_group_end(&w);
	akv_dia_put_str(&w, AKV_DIA_AVP_SERVER_NAME, V3GPP, "sip:scscf.ims.test");
	len = akv_dia_wr_finish(&w);
	ck_assert_int_gt(len, 0);
	return (size_t)len;
}

/* Random bytes for a hole: printable ASCII, now and then a valid two-byte
 * UTF-8 character or a byte that breaks UTF-8. */
static void
hole_fill(uint64_t *seed, uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(0x21 + akv_test_rand64(seed) % 94);
	if (n >= 2 && akv_test_rand64(seed) % 8 == 0) {
		size_t at = akv_test_rand64(seed) % (n - 1);

		b[at] = 0xc3;
		b[at + 1] = 0xa9;
	}
	if (n && akv_test_rand64(seed) % 16 == 0)
		b[akv_test_rand64(seed) % n] = (uint8_t)(0x80 + akv_test_rand64(seed) % 128);
}

/* An engine's answer to r: its n vectors (at most AKV_VEC_MAX), from seq. */
static void
fake_vectors(struct akv_eng_req *r, unsigned seq)
{
	r->err = 0;
	r->nvec = r->n > AKV_VEC_MAX ? AKV_VEC_MAX : r->n;
	r->scheme_used = AKV_SCHEME_AKAV1_MD5;
	for (unsigned i = 0; i < r->nvec; i++) {
		memset(&r->vec[i], (int)(seq + i), sizeof(r->vec[i]));
		r->vec[i].xres_len = 8;
	}
}

/* A MAR decoded from the peer's plan (dia_cx.c, akv_dia_cx_mar_fast) gets
 * what the general path gives it: the same action and answer bytes, the
 * same request slot and encoder context, the same MAA. MARs of the learned
 * shape with other values in its holes (every length, to past the limits,
 * broken UTF-8), and MARs with bytes changed anywhere past the length,
 * which the plan must refuse or accept exactly as the check would. */
START_TEST(t_dia_cx_mar_plan_agrees)
{
	static uint8_t m[4096], outf[AKV_PROTO_OUT_MAX], outg[AKV_PROTO_OUT_MAX];
	static uint8_t sid[700], impi[300], impu[300];
	static struct akv_dia_conn cf, cg;
	static struct akv_test_slot sf, sg;
	uint64_t seed = 0x91a, hits = 0, missed = 0;
	size_t n, of, og;

	fx_conn(&cf, NULL);
	cf.pending = akv_cx_pending_new(1024, AKV_CX_PENDING_TTL_MS);
	fx_open(&cf);
	memcpy(sid, "scscf.ims.test;1;1", 18);
	n = mar_v(m, sid, 18, (const uint8_t *)IMPI, strlen(IMPI), (const uint8_t *)IMPU,
		  strlen(IMPU), 2, 1);
	ck_assert_int_eq(fx_msg(&cf, m, n, &sf, outf, &of), AKV_PROTO_DISPATCH);
	ck_assert_uint_gt(cf.mar.tpl.nseg, 0);
	for (int it = 0; it < 4000; it++) {
		size_t sl = 1 + akv_test_rand64(&seed) % 40, il = 1 + akv_test_rand64(&seed) % 40;
		size_t ul = 1 + akv_test_rand64(&seed) % 40;
		uint64_t before = cf.mar.hits;
		struct akv_eng_req rq;
		int rf, rg;

		/* now and then a length at or past a limit, or empty */
		if (akv_test_rand64(&seed) % 16 == 0)
			sl = akv_test_rand64(&seed) % 2 ? 0 : 510 + akv_test_rand64(&seed) % 5;
		if (akv_test_rand64(&seed) % 16 == 0)
			il = akv_test_rand64(&seed) % 2 ? 0 : 253 + akv_test_rand64(&seed) % 5;
		if (akv_test_rand64(&seed) % 16 == 0)
			ul = akv_test_rand64(&seed) % 2 ? 0 : 253 + akv_test_rand64(&seed) % 5;
		hole_fill(&seed, sid, sl);
		hole_fill(&seed, impi, il);
		hole_fill(&seed, impu, ul);
		n = mar_v(m, sid, sl, impi, il, impu, ul, it % 50 ? 2 : 3, (uint32_t)it);
		/* an eighth with more after the learned shape, the length grown
		 * to take it: an unknown AVP with the M bit (the check's 5001), a
		 * second User-Name, or 4 bytes too few for an AVP header - what
		 * the plan must refuse however its holes matched */
		if (it % 8 == 5) {
			uint8_t *end = m + n;

			switch (it / 8 % 3) {
			case 0:
				end = akv_dia_st_u32(end, 0x7fff0001u, 0, 1);
				break;
			case 1:
				end = akv_dia_st_bytes(end, AKV_DIA_AVP_USER_NAME, 0, impi,
						       il ? il : 1);
				break;
			default:
				memset(end, 0, 4);
				end += 4;
				break;
			}
			n = (size_t)(end - m);
			akv_put_be24(m + 1, (uint32_t)n);
		}
		/* a third with bytes changed, never the version or length */
		if (it % 3 == 0) {
			unsigned k = 1 + (unsigned)(akv_test_rand64(&seed) % 3);

			while (k--)
				m[4 + akv_test_rand64(&seed) % (n - 4)] =
				    (uint8_t)akv_test_rand64(&seed);
		}
		/* the general path: the same conn without a plan */
		memcpy(&cg, &cf, sizeof(cg));
		cg.mar.tpl.nseg = 0;
		rf = fx_msg(&cf, m, n, &sf, outf, &of);
		rg = fx_msg(&cg, m, n, &sg, outg, &og);
		ck_assert_int_eq(rf, rg);
		ck_assert_uint_eq(of, og);
		if (of)
			ck_assert_mem_eq(outf, outg, of);
		ck_assert_uint_eq(cf.state, cg.state);
		if (cf.mar.hits > before)
			hits++;
		else if (rf == AKV_PROTO_DISPATCH)
			missed++;
		if (rf != AKV_PROTO_DISPATCH)
			continue;
		/* the request up to its pointers, and the whole encoder context */
		rq = sg.req;
		ck_assert_mem_eq(&sf.req, &rq, offsetof(struct akv_eng_req, digest));
		ck_assert_mem_eq(sf.ctx, sg.ctx, sizeof(sf.ctx));
		/* cx_mar (in the bytes compared above): the S-CSCF to note for
		 * the UAR (cx_pending.h), which the plan keeps as learned */
		if (cf.mar.hits > before)
			ck_assert_uint_eq(sf.req.cx_mar, cf.mar.server_name);
		ck_assert_ptr_null(sf.req.cx);
		fake_vectors(&sf.req, (unsigned)it);
		fake_vectors(&sg.req, (unsigned)it);
		of = (size_t)akv_dia_ops.encode(&cf, &sf.slot, outf, sizeof(outf));
		og = (size_t)akv_dia_ops.encode(&cg, &sg.slot, outg, sizeof(outg));
		ck_assert_uint_eq(of, og);
		ck_assert_mem_eq(outf, outg, of);
	}
	/* most MARs took the plan; changed ones that still dispatch did not */
	ck_assert_uint_gt(hits, 1500);
	ck_assert_uint_gt(missed, 10);
	ck_assert_uint_eq(cf.mar.server_name, 1);	/* the first name interned */
	akv_cx_pending_free(cf.pending);
}
END_TEST

/* A peer whose MARs do not fit a plan (more fixed bytes than
 * AKV_DIA_TPL_BYTES: a 600-byte Server-Name) is served by the general path,
 * and the codec tries to learn its shape again only every 65th MAR. */
START_TEST(t_dia_cx_mar_plan_unfit)
{
	static uint8_t m[4096], out[AKV_PROTO_OUT_MAX];
	static char sn[601];
	struct akv_dia_node node = { .origin_host = "scscf.ims.test", .origin_realm = "ims.test" };
	struct akv_dia_mar mr = {
		.session_id = "scscf.ims.test;1;9", .dest_realm = "ims.test", .impi = IMPI,
		.impu = IMPU, .scheme = "Digest-AKAv1-MD5", .server_name = sn, .n = 1,
	};
	struct akv_dia_conn c;
	struct akv_test_slot s;
	size_t olen;
	int n;

	memset(sn, 'n', 600);
	memcpy(sn, "sip:", 4);
	fx_conn(&c, NULL);
	fx_open(&c);
	n = akv_dia_build_mar(m, sizeof(m), &node, &mr, 1, 2);
	ck_assert_int_gt(n, 0);
	for (unsigned k = 0; k < 130; k++) {
		ck_assert_int_eq(fx_msg(&c, m, (size_t)n, &s, out, &olen), AKV_PROTO_DISPATCH);
		ck_assert_str_eq(s.req.impi, IMPI);
		ck_assert_uint_eq(c.mar.tpl.nseg, 0);
		/* learned (and failed) at the 1st, 66th, 131st... */
		ck_assert_uint_eq(c.mar.wait, 64 - k % 65);
	}
	ck_assert_uint_eq(c.mar.hits, 0);
}
END_TEST

/* A peer that changes the shape of its MARs (another Server-Name) is
 * learned again after 32 MARs of the new shape in a row (dia_cx.c,
 * akv_dia_cx_mar_fast); one MAR of the learned shape in between starts the
 * count again. */
START_TEST(t_dia_cx_mar_plan_relearns)
{
	static uint8_t a[4096], b[4096], out[AKV_PROTO_OUT_MAX];
	struct akv_dia_node node = { .origin_host = "scscf.ims.test", .origin_realm = "ims.test" };
	struct akv_dia_mar mr = {
		.session_id = "scscf.ims.test;1;9", .dest_realm = "ims.test", .impi = IMPI,
		.impu = IMPU, .scheme = "Digest-AKAv1-MD5", .server_name = "sip:scscf1.ims.test",
		.n = 1,
	};
	static struct akv_dia_conn c;
	static struct akv_test_slot s;
	size_t olen;
	int na, nb;

	fx_conn(&c, NULL);
	fx_open(&c);
	na = akv_dia_build_mar(a, sizeof(a), &node, &mr, 1, 2);
	mr.server_name = "sip:scscf2.ims.test";
	nb = akv_dia_build_mar(b, sizeof(b), &node, &mr, 3, 4);
	ck_assert_int_gt(na, 0);
	ck_assert_int_gt(nb, 0);
	/* the first MAR is learned, the second decoded from the plan */
	ck_assert_int_eq(fx_msg(&c, a, (size_t)na, &s, out, &olen), AKV_PROTO_DISPATCH);
	ck_assert_uint_gt(c.mar.tpl.nseg, 0);
	ck_assert_int_eq(fx_msg(&c, a, (size_t)na, &s, out, &olen), AKV_PROTO_DISPATCH);
	ck_assert_uint_eq(c.mar.hits, 1);
	/* 31 of the other shape, then one of the learned: still the plan */
	for (unsigned k = 0; k < 31; k++) {
		ck_assert_int_eq(fx_msg(&c, b, (size_t)nb, &s, out, &olen), AKV_PROTO_DISPATCH);
		ck_assert_uint_eq(c.mar.misses, k + 1);
	}
	ck_assert_int_eq(fx_msg(&c, a, (size_t)na, &s, out, &olen), AKV_PROTO_DISPATCH);
	ck_assert_uint_eq(c.mar.hits, 2);
	ck_assert_uint_eq(c.mar.misses, 0);
	/* 32 in a row: the 32nd drops the plan and is learned from */
	for (unsigned k = 0; k < 32; k++)
		ck_assert_int_eq(fx_msg(&c, b, (size_t)nb, &s, out, &olen), AKV_PROTO_DISPATCH);
	ck_assert_uint_eq(c.mar.hits, 2);
	ck_assert_uint_gt(c.mar.tpl.nseg, 0);
	ck_assert_int_eq(fx_msg(&c, b, (size_t)nb, &s, out, &olen), AKV_PROTO_DISPATCH);
	ck_assert_uint_eq(c.mar.hits, 3);
	ck_assert_str_eq(s.req.impi, IMPI);
	/* and the first shape is now the other one */
	ck_assert_int_eq(fx_msg(&c, a, (size_t)na, &s, out, &olen), AKV_PROTO_DISPATCH);
	ck_assert_uint_eq(c.mar.hits, 3);
	ck_assert_uint_eq(c.mar.misses, 1);
}
END_TEST

/* A {required} AVP twice: 5009 with the second instance as Failed-AVP
 * (RFC 6733 §7.5), whichever AVPs come between. */
START_TEST(t_dia_cx_mar_duplicates)
{
	static uint8_t m[4096], dup[4096], out[AKV_PROTO_OUT_MAX];
	static const uint32_t codes[][2] = {
		{ AKV_DIA_AVP_USER_NAME, 0 }, { AKV_DIA_AVP_SESSION_ID, 0 },
		{ AKV_DIA_AVP_PUBLIC_IDENTITY, V3GPP }, { AKV_DIA_AVP_SIP_AUTH_DATA_ITEM, V3GPP },
		{ AKV_DIA_AVP_ORIGIN_REALM, 0 },
	};
	struct akv_dia_conn c;
	struct akv_test_slot s;
	struct akv_dia_result r;
	struct akv_dia_hdr h;
	struct akv_dia_avp f;
	size_t n = mar_x(m, 20, 1, IMPI, IMPU, "Digest-AKAv1-MD5", 1, 0xc0, 9), olen;
	int len;

	fx_conn(&c, NULL);
	fx_open(&c);
	for (size_t k = 0; k < sizeof(codes) / sizeof(codes[0]); k++) {
		for (unsigned copies = 2; copies <= 3; copies++) {
			struct akv_dia_it it;
			struct akv_dia_avp a;
			size_t dl = 20;

			/* each extra copy goes last, with its first byte of data changed */
			memcpy(dup, m, 20);
			akv_dia_it_init(&it, m + 20, n - 20);
			while (akv_dia_it_next(&it, &a) > 0)
				append_avp(dup, &dl, &a);
			akv_dia_find(m + 20, n - 20, codes[k][0], codes[k][1], &a);
			for (unsigned i = 1; i < copies; i++) {
				uint8_t *copy = append_avp(dup, &dl, &a);

				if (a.code != AKV_DIA_AVP_SIP_AUTH_DATA_ITEM)
					copy[a.data - a.raw] = (uint8_t)('0' + i);
			}
			akv_put_be24(dup + 1, (uint32_t)dl);
			ck_assert_int_eq(fx_msg(&c, dup, dl, &s, out, &olen), AKV_PROTO_REPLY);
			ck_assert_int_eq(akv_dia_parse_result(out, olen, &h, &r), 0);
			ck_assert_uint_eq(r.result_code, AKV_DIA_AVP_OCCURS_TOO_MANY);
			ck_assert_int_eq(fx_failed_avp(out, olen, &f), 1);
			ck_assert_uint_eq(f.code, codes[k][0]);
			ck_assert_uint_eq(f.vendor, codes[k][1]);
			ck_assert_uint_eq(f.raw_len, a.raw_len);
			if (a.code != AKV_DIA_AVP_SIP_AUTH_DATA_ITEM)
				ck_assert_uint_eq(f.data[0], '1');	/* the second instance */
		}
	}
	/* Proxy-Info may repeat: both come back, in order */
	n = mar_x(m, 20, 2, IMPI, IMPU, "Digest-AKAv1-MD5", 1, 0xc0, 10);
	ck_assert_int_eq(fx_msg(&c, m, n, &s, out, &olen), AKV_PROTO_DISPATCH);
	s.req.nvec = 1;
	s.vec[0].xres_len = 8;
	len = akv_dia_ops.encode(&c, &s.slot, out, sizeof(out));
	ck_assert_int_gt(len, 20);
	ck_assert_uint_eq(akv_dia_count(out + 20, (size_t)len - 20, AKV_DIA_AVP_PROXY_INFO, 0), 2);
}
END_TEST

/* A MAR with many kinds of AVPs (40 unknown without M, known optional ones)
 * is served: the index has a slot per dictionary row, not a fixed number of
 * kinds (before it, a request with more than 32 kinds looped for ever). */
START_TEST(t_dia_cx_mar_many_kinds)
{
	static uint8_t m[4096], extra[2048], out[AKV_PROTO_OUT_MAX];
	struct akv_dia_conn c;
	struct akv_test_slot s;
	size_t n = mar_x(m, 20, 0, IMPI, IMPU, "Digest-AKAv1-MD5", 2, 0xc0, 11), olen;
	struct akv_dia_wr w;
	int len;

	/* the extra AVPs, appended after the MAR's own */
	akv_dia_wr_init(&w, extra, sizeof(extra));
	akv_dia_wr_hdr(&w, 0, 0, 0, 0, 0);
	for (unsigned i = 0; i < 40; i++)
		akv_dia_put_flags(&w, 3000 + i, 0, i & 1 ? 5535 : 0, "kind", 4);
	akv_dia_put_u32(&w, AKV_DIA_AVP_ORIGIN_STATE_ID, 0, 7);
	akv_dia_put_u32(&w, AKV_DIA_AVP_SESSION_TIMEOUT, 0, 60);
	akv_dia_put_str(&w, AKV_DIA_AVP_ROUTE_RECORD, 0, "dra.ims.test");
	akv_dia_put_str(&w, AKV_DIA_AVP_ROUTE_RECORD, 0, "dra2.ims.test");
	len = akv_dia_wr_finish(&w);
	ck_assert_int_gt(len, 20);
	memcpy(m + n, extra + 20, (size_t)len - 20);
	n += (size_t)len - 20;
	akv_put_be24(m + 1, (uint32_t)n);
	fx_conn(&c, NULL);
	fx_open(&c);
	ck_assert_int_eq(fx_msg(&c, m, n, &s, out, &olen), AKV_PROTO_DISPATCH);
	ck_assert_uint_eq(s.req.n, 2);
	ck_assert_str_eq(s.req.impi, IMPI);
	ck_assert_str_eq(s.req.impu, IMPU);
}
END_TEST

/* ==== Pure parts ==== */

START_TEST(t_dia_cx_sar_table)
{
	/* the user is held by "sip:o" (when registered or unregistered); the
	 * SAR comes from it (own = 1) or from "sip:n" */
	static const struct {
		uint8_t cur, sat, own;
		int rc;
		uint8_t next;
		int keeps_sender_name, user_data;
		uint32_t exp, result;
	} t[] = {
	    {AKV_CX_NOT_REGISTERED, AKV_CX_SAT_REGISTRATION, 0, 1, AKV_CX_REGISTERED, 1, 1, 0, 0},
	    {AKV_CX_REGISTERED, AKV_CX_SAT_RE_REGISTRATION, 0, 1, AKV_CX_REGISTERED, 1, 1, 0, 0},
	    {AKV_CX_NOT_REGISTERED, AKV_CX_SAT_UNREGISTERED_USER, 0, 1, AKV_CX_UNREGISTERED, 1, 1,
	     0, 0},
	    {AKV_CX_REGISTERED, AKV_CX_SAT_TIMEOUT_DEREGISTRATION, 1, 1, AKV_CX_NOT_REGISTERED, 0,
	     0, 0, 0},
	    {AKV_CX_REGISTERED, AKV_CX_SAT_ADMINISTRATIVE_DEREGISTRATION, 1, 1,
	     AKV_CX_NOT_REGISTERED, 0, 0, 0, 0},
	    {AKV_CX_REGISTERED, AKV_CX_SAT_USER_DEREG_STORE_NAME, 1, 1, AKV_CX_UNREGISTERED, 1, 0,
	     0, 0},
	    {AKV_CX_REGISTERED, AKV_CX_SAT_AUTHENTICATION_FAILURE, 0, 0, AKV_CX_REGISTERED, 0, 0, 0,
	     0},
	    {AKV_CX_UNREGISTERED, AKV_CX_SAT_AUTHENTICATION_TIMEOUT, 1, 1, AKV_CX_NOT_REGISTERED, 0,
	     0, 0, 0},
	    {AKV_CX_REGISTERED, AKV_CX_SAT_NO_ASSIGNMENT, 0, 0, AKV_CX_REGISTERED, 0, 1, 0, 0},
	    {AKV_CX_REGISTERED, 12, 1, -1, AKV_CX_REGISTERED, 0, 0,
	     AKV_CX_EXP_ERROR_IN_ASSIGNMENT_TYPE, 0},
	    {AKV_CX_REGISTERED, 99, 1, -1, AKV_CX_REGISTERED, 0, 0, 0, AKV_CX_RC_INVALID_AVP_VALUE},
	    /* §6.1.2.1, §8.1: another S-CSCF holds the user */
	    {AKV_CX_REGISTERED, AKV_CX_SAT_UNREGISTERED_USER, 0, -1, AKV_CX_REGISTERED, 0, 0,
	     AKV_CX_EXP_IDENTITY_ALREADY_REGISTERED, 0},
	    {AKV_CX_UNREGISTERED, AKV_CX_SAT_UNREGISTERED_USER, 0, -1, AKV_CX_UNREGISTERED, 0, 0,
	     AKV_CX_EXP_IDENTITY_ALREADY_REGISTERED, 0},
	    {AKV_CX_REGISTERED, AKV_CX_SAT_TIMEOUT_DEREGISTRATION, 0, -1, AKV_CX_REGISTERED, 0, 0,
	     0, AKV_CX_RC_UNABLE_TO_COMPLY},
	    {AKV_CX_REGISTERED, AKV_CX_SAT_USER_DEREGISTRATION, 0, -1, AKV_CX_REGISTERED, 0, 0, 0,
	     AKV_CX_RC_UNABLE_TO_COMPLY},
	    {AKV_CX_UNREGISTERED, AKV_CX_SAT_ADMINISTRATIVE_DEREGISTRATION, 0, -1,
	     AKV_CX_UNREGISTERED, 0, 0, 0, AKV_CX_RC_UNABLE_TO_COMPLY},
	    {AKV_CX_REGISTERED, AKV_CX_SAT_TIMEOUT_DEREG_STORE_NAME, 0, -1, AKV_CX_REGISTERED, 0, 0,
	     0, AKV_CX_RC_UNABLE_TO_COMPLY},
	    {AKV_CX_UNREGISTERED, AKV_CX_SAT_AUTHENTICATION_FAILURE, 0, 0, AKV_CX_UNREGISTERED, 0,
	     0, 0, 0},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct akv_cx_req cx = {0};

		cx.sat = t[i].sat;
		cx.server_name_len = 5;
		memcpy(cx.server_name, t[i].own ? "sip:o" : "sip:n", 6);
		ck_assert_int_eq(akv_cx_sar_apply(t[i].cur, "sip:o", 5, &cx), t[i].rc);
		ck_assert_uint_eq(cx.state, t[i].next);
		ck_assert_uint_eq(cx.want_user_data, t[i].user_data);
		if (t[i].keeps_sender_name)
			ck_assert_str_eq(cx.assigned, cx.server_name);
		if (t[i].rc < 0) {
			ck_assert_uint_eq(cx.exp_code, t[i].exp);
			ck_assert_uint_eq(cx.result_code, t[i].result);
			/* the holder's name, for an SAA that names it */
			ck_assert_str_eq(cx.assigned, "sip:o");
		} else {
			ck_assert_uint_eq(cx.result_code, AKV_CX_RC_SUCCESS);
		}
	}
}
END_TEST

/* SARs that change neither state nor name (a re-registration by the same
 * S-CSCF, a deregistration of a user with no registration) ask for no
 * write: a re-registration storm then costs no commit. A new name still
 * does. */
START_TEST(t_dia_cx_sar_unchanged_no_write)
{
	static const struct {
		uint8_t cur, sat;
		const char *cur_name, *name;
		int rc;
	} t[] = {
		{ AKV_CX_REGISTERED, AKV_CX_SAT_RE_REGISTRATION, "sip:s", "sip:s", 0 },
		{ AKV_CX_REGISTERED, AKV_CX_SAT_REGISTRATION, "sip:s", "sip:s", 0 },
		{ AKV_CX_REGISTERED, AKV_CX_SAT_RE_REGISTRATION, "sip:s", "sip:t", 1 },
		{ AKV_CX_REGISTERED, AKV_CX_SAT_RE_REGISTRATION, "sip:s", "sip:s2", 1 },
		{ AKV_CX_UNREGISTERED, AKV_CX_SAT_REGISTRATION, "sip:s", "sip:s", 1 },
		{ AKV_CX_NOT_REGISTERED, AKV_CX_SAT_REGISTRATION, "", "sip:s", 1 },
		{ AKV_CX_NOT_REGISTERED, AKV_CX_SAT_USER_DEREGISTRATION, "", "sip:s", 0 },
		{ AKV_CX_NOT_REGISTERED, AKV_CX_SAT_AUTHENTICATION_FAILURE, "", "sip:s", 0 },
		{ AKV_CX_UNREGISTERED, AKV_CX_SAT_UNREGISTERED_USER, "sip:s", "sip:s", 0 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct akv_cx_req cx = { 0 };

		cx.sat = t[i].sat;
		cx.server_name_len = (uint16_t)strlen(t[i].name);
		memcpy(cx.server_name, t[i].name, cx.server_name_len + 1);
		ck_assert_msg(akv_cx_sar_apply(t[i].cur, t[i].cur_name, strlen(t[i].cur_name), &cx) ==
				      t[i].rc,
			      "row %zu", i);
		ck_assert_uint_eq(cx.result_code, AKV_CX_RC_SUCCESS);
	}
}
END_TEST

/* A batch of Cx requests (as a worker runs them): the registration writes
 * of up to 64 requests go in one commit, and a request sees what an
 * earlier one of the same batch did to its IMPI before that commit. */
static void
cx_fill(struct akv_eng_req *r, struct akv_cx_req *cx, enum akv_op op, const char *impi,
	uint8_t type, const char *scscf)
{
	fx_req(r, op, impi, 1, NULL);
	memset(cx, 0, sizeof(*cx));
	r->cx = cx;
	if (op == AKV_OP_SAR)
		cx->sat = type;
	else
		cx->uat = type;
	cx->server_name_len = (uint16_t)strlen(scscf);
	memcpy(cx->server_name, scscf, cx->server_name_len + 1);
}

START_TEST(t_dia_cx_batch_one_commit)
{
	enum { NSUB = AKV_CX_BATCH_MAX + 36 };
	static struct akv_eng_req req[NSUB + 3];
	static struct akv_cx_req cx[NSUB + 3];
	struct akv_eng_req *list[NSUB + 3];
	struct akv_store *st = fx_store_new("cxbatch");
	struct akv_eng_cfg ecfg;
	struct akv_eng *e;
	char impi[NSUB][32];
	uint64_t c0;

	akv_eng_cfg_default(&ecfg);
	for (int i = 0; i < NSUB; i++) {
		struct akv_sub s;
		char impu[40];

		snprintf(impi[i], sizeof(impi[i]), "u%d@ims.test", i);
		snprintf(impu, sizeof(impu), "sip:u%d@ims.test", i);
		fx_sub_make(&s, impi[i], impu, (uint64_t)i + 10, 0);
		fx_sub_add(st, &s);
	}
	e = fx_eng_new(&ecfg, st);
	/* the first Cx request creates the registration database (a commit) */
	cx_fill(&req[0], &cx[0], AKV_OP_UAR, impi[NSUB - 1], AKV_CX_UAT_REGISTRATION, "");
	fx_run1(e, &req[0], 500);
	ck_assert_uint_eq(cx[0].exp_code, AKV_CX_EXP_FIRST_REGISTRATION);

	/* 40 first registrations, then in the same batch u0 deregisters and
	 * a UAR for u0 and one for u1 ask where they stand */
	for (int i = 0; i < 40; i++) {
		cx_fill(&req[i], &cx[i], AKV_OP_SAR, impi[i], AKV_CX_SAT_REGISTRATION, "sip:s1");
		list[i] = &req[i];
	}
	cx_fill(&req[40], &cx[40], AKV_OP_SAR, impi[0], AKV_CX_SAT_USER_DEREGISTRATION, "sip:s1");
	cx_fill(&req[41], &cx[41], AKV_OP_UAR, impi[0], AKV_CX_UAT_REGISTRATION, "");
	cx_fill(&req[42], &cx[42], AKV_OP_UAR, impi[1], AKV_CX_UAT_REGISTRATION, "");
	for (int i = 40; i < 43; i++)
		list[i] = &req[i];
	c0 = akv_store_commit_count(st);
	akv_eng_run(e, list, 43, 1000);
	ck_assert_uint_eq(akv_store_commit_count(st) - c0, 1);
	for (int i = 0; i < 41; i++) {
		ck_assert_int_eq(req[i].err, 0);
		ck_assert_uint_eq(cx[i].result_code, AKV_CX_RC_SUCCESS);
	}
	ck_assert_uint_eq(cx[41].exp_code, AKV_CX_EXP_FIRST_REGISTRATION);
	ck_assert_uint_eq(cx[42].exp_code, AKV_CX_EXP_SUBSEQUENT_REGISTRATION);

	/* what was committed: u0 deregistered, u1..u39 registered at sip:s1 */
	akv_eng_free(e);
	e = fx_eng_new(&ecfg, st);
	cx_fill(&req[0], &cx[0], AKV_OP_UAR, impi[0], AKV_CX_UAT_REGISTRATION, "");
	cx_fill(&req[1], &cx[1], AKV_OP_UAR, impi[39], AKV_CX_UAT_REGISTRATION, "");
	list[0] = &req[0];
	list[1] = &req[1];
	akv_eng_run(e, list, 2, 2000);
	ck_assert_uint_eq(cx[0].exp_code, AKV_CX_EXP_FIRST_REGISTRATION);
	ck_assert_uint_eq(cx[1].exp_code, AKV_CX_EXP_SUBSEQUENT_REGISTRATION);
	ck_assert_str_eq(cx[1].assigned, "sip:s1");

	/* NSUB SARs in one run: chunks of AKV_CX_BATCH_MAX, so two commits;
	 * re-registering the 39 already there at the same S-CSCF adds none */
	for (int i = 0; i < NSUB; i++) {
		cx_fill(&req[i], &cx[i], AKV_OP_SAR, impi[i], AKV_CX_SAT_REGISTRATION, "sip:s1");
		list[i] = &req[i];
	}
	c0 = akv_store_commit_count(st);
	akv_eng_run(e, list, NSUB, 3000);
	ck_assert_uint_eq(akv_store_commit_count(st) - c0, 2);
	c0 = akv_store_commit_count(st);
	for (int i = 0; i < NSUB; i++)
		cx_fill(&req[i], &cx[i], AKV_OP_SAR, impi[i], AKV_CX_SAT_RE_REGISTRATION, "sip:s1");
	akv_eng_run(e, list, NSUB, 4000);
	ck_assert_uint_eq(akv_store_commit_count(st) - c0, 0);
	for (int i = 0; i < NSUB; i++)
		ck_assert_uint_eq(cx[i].result_code, AKV_CX_RC_SUCCESS);
	akv_eng_free(e);
	akv_store_close(st);
}
END_TEST

START_TEST(t_dia_cx_user_data_xml)
{
	char out[1024];
	const char impus[] = "sip:a<b>@x\0tel:+1&2\0";
	int n = akv_cx_user_data(NULL, "a&b", 3, impus, 2, out, sizeof(out));

	ck_assert_int_gt(n, 0);
	ck_assert_uint_eq(strlen(out), (size_t)n);
	ck_assert_ptr_nonnull(strstr(out, "<PrivateID>a&amp;b</PrivateID>"));
	ck_assert_ptr_nonnull(strstr(out, "<Identity>sip:a&lt;b&gt;@x</Identity>"));
	ck_assert_ptr_nonnull(strstr(out, "<Identity>tel:+1&amp;2</Identity>"));
	ck_assert_ptr_nonnull(strstr(out, "<IMSSubscription>"));
	/* custom template */
	n = akv_cx_user_data("<X p=\"%PRIVATE%\">%IMPU{[%IMPU%]}%</X>", "i", 1, impus, 2, out,
			     sizeof(out));
	ck_assert_str_eq(out, "<X p=\"i\">[sip:a&lt;b&gt;@x][tel:+1&amp;2]</X>");
	ck_assert_int_eq(akv_cx_user_data("%IMPU{never closed", "i", 1, impus, 2, out, sizeof(out)),
			 AKV_EINVAL);
	ck_assert_int_eq(akv_cx_user_data(NULL, "i", 1, impus, 2, out, 40), AKV_ETOOBIG);
}
END_TEST

/* The renderer as first written, one byte at a time: the reference the
 * run-copying akv_cx_user_data must equal, output and overflow alike. */
struct ref_buf {
	char *p;
	size_t len, cap;
	int over;
};

static void
ref_put(struct ref_buf *b, const char *s, size_t n)
{
	if (b->over || n > b->cap - b->len - 1) {
		b->over = 1;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
ref_esc(struct ref_buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '<': ref_put(b, "&lt;", 4); break;
		case '>': ref_put(b, "&gt;", 4); break;
		case '&': ref_put(b, "&amp;", 5); break;
		case '"': ref_put(b, "&quot;", 6); break;
		case '\'': ref_put(b, "&apos;", 6); break;
		default: ref_put(b, s + i, 1); break;
		}
	}
}

static void
ref_subst(struct ref_buf *b, const char *s, size_t n, const char *impi, size_t impi_len,
	  const char *impu)
{
	size_t i = 0;

	while (i < n) {
		if (n - i >= 9 && !memcmp(s + i, "%PRIVATE%", 9)) {
			ref_esc(b, impi, impi_len);
			i += 9;
		} else if (impu && n - i >= 6 && !memcmp(s + i, "%IMPU%", 6)) {
			ref_esc(b, impu, strlen(impu));
			i += 6;
		} else {
			ref_put(b, s + i, 1);
			i++;
		}
	}
}

static int
ref_user_data(const char *tmpl, const char *impi, size_t impi_len, const char *impus,
	      unsigned n, char *out, size_t cap)
{
	struct ref_buf b = { out, 0, cap, 0 };
	const char *open = strstr(tmpl, "%IMPU{"), *close = open ? strstr(open, "}%") : NULL;

	if (open && !close)
		return AKV_EINVAL;
	if (!open) {
		ref_subst(&b, tmpl, strlen(tmpl), impi, impi_len, NULL);
	} else {
		const char *p = impus;

		ref_subst(&b, tmpl, (size_t)(open - tmpl), impi, impi_len, NULL);
		for (unsigned i = 0; i < n; i++) {
			ref_subst(&b, open + 6, (size_t)(close - open - 6), impi, impi_len, p);
			p += strlen(p) + 1;
		}
		ref_subst(&b, close + 2, strlen(close + 2), impi, impi_len, NULL);
	}
	if (b.over)
		return AKV_ETOOBIG;
	out[b.len] = '\0';
	return (int)b.len;
}

/* Random templates made of markers, stray '%', XML specials and letters,
 * random identities, every output capacity around the rendered length. */
START_TEST(t_dia_cx_user_data_equals_bytewise)
{
	static const char *const parts[] = { "%PRIVATE%", "%IMPU%", "%", "%PRIV", "%IMPU",
					     "<", ">", "&", "\"", "'", "ab", "<Identity>", "%%" };
	static const char alpha[] = "ab<>&\"'%:@.";
	uint64_t seed = 0x5a5a1234u;

	for (int t = 0; t < 3000; t++) {
		char tmpl[256], impi[40], impus[3][30], iblob[96], got[600], want[600];
		size_t tl = 0, bl = 0, il;
		int np = (int)(akv_test_rand64(&seed) % 12), with_list = akv_test_rand64(&seed) % 3 != 0;
		int list_at = np ? (int)(akv_test_rand64(&seed) % (unsigned)np) : 0;

		for (int i = 0; i < np; i++) {
			const char *q = parts[akv_test_rand64(&seed) % (sizeof(parts) / sizeof(parts[0]))];

			if (with_list && i == list_at) {
				memcpy(tmpl + tl, "%IMPU{[%IMPU%]", 14);
				tl += 14;
			}
			memcpy(tmpl + tl, q, strlen(q));
			tl += strlen(q);
			if (with_list && i == list_at) {
				memcpy(tmpl + tl, "}%", 2);
				tl += 2;
			}
		}
		tmpl[tl] = '\0';
		il = 1 + akv_test_rand64(&seed) % 30;
		for (size_t i = 0; i < il; i++)
			impi[i] = alpha[akv_test_rand64(&seed) % (sizeof(alpha) - 1)];
		impi[il] = '\0';
		for (int k = 0; k < 3; k++) {
			size_t ul = 1 + akv_test_rand64(&seed) % 25;

			for (size_t i = 0; i < ul; i++)
				impus[k][i] = alpha[akv_test_rand64(&seed) % (sizeof(alpha) - 1)];
			impus[k][ul] = '\0';
			memcpy(iblob + bl, impus[k], ul + 1);
			bl += ul + 1;
		}
		int full = ref_user_data(tmpl, impi, il, iblob, 3, want, sizeof(want));

		ck_assert_int_eq(akv_cx_user_data(tmpl, impi, il, iblob, 3, got, sizeof(got)), full);
		if (full < 0)
			continue;
		ck_assert_str_eq(got, want);
		for (size_t cap = full > 3 ? (size_t)full - 3 : 1; cap <= (size_t)full + 2; cap++) {
			int r = ref_user_data(tmpl, impi, il, iblob, 3, want, cap);

			ck_assert_int_eq(akv_cx_user_data(tmpl, impi, il, iblob, 3, got, cap), r);
			if (r >= 0)
				ck_assert_str_eq(got, want);
		}
	}
}
END_TEST

static Suite *
cx_suite(void)
{
	Suite *s = suite_create("dia_cx");
	TCase *tc = tcase_create("cx");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, t_dia_cx_mar_vectors);
	tcase_add_test(tc, t_dia_cx_mar_errors);
	tcase_add_test(tc, t_dia_cx_mar_resync);
	tcase_add_test(tc, t_dia_cx_registration);
	tcase_add_loop_test(tc, t_dia_cx_lir_no_unreg_services, 0, 2);
	tcase_add_loop_test(tc, t_dia_cx_uar_auth_pending, 0, 2);
	tcase_add_loop_test(tc, t_dia_cx_sar_unregistered_user_elsewhere, 0, 2);
	tcase_add_test(tc, t_dia_cx_cfg_template);
	tcase_add_test(tc, t_dia_cx_maa_bytes);
	tcase_add_test(tc, t_dia_cx_maa_template_bytes);
	tcase_add_test(tc, t_dia_cx_mar_plan_agrees);
	tcase_add_test(tc, t_dia_cx_mar_plan_unfit);
	tcase_add_test(tc, t_dia_cx_mar_plan_relearns);
	tcase_add_test(tc, t_dia_cx_mar_duplicates);
	tcase_add_test(tc, t_dia_cx_mar_many_kinds);
	tcase_add_test(tc, t_dia_cx_sar_table);
	tcase_add_test(tc, t_dia_cx_sar_unchanged_no_write);
	tcase_add_test(tc, t_dia_cx_batch_one_commit);
	tcase_add_test(tc, t_dia_cx_user_data_xml);
	tcase_add_test(tc, t_dia_cx_user_data_equals_bytewise);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	akv_crypto_init();
	return akv_test_run_tmpdir(cx_suite(), "test-dia-cx");
}
