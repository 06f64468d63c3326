/*
 * test_dia.c - Diameter codec (RFC 6733 §3, §4, §7) and peer state machine
 * (§5): golden messages, round trips, every error code, CER/DWR/DPR paths.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dia_fixture.h"

#define V3GPP AKV_DIA_VENDOR_3GPP

static void
wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A request header + Session-Id + the AVP bytes given, length patched. */
static size_t
mk_req(uint8_t *buf, size_t cap, uint8_t flags, uint32_t cmd, uint32_t app, const uint8_t *avps,
       size_t alen)
{
	struct akv_dia_wr w;
	int n;

	akv_dia_wr_init(&w, buf, cap);
	akv_dia_wr_hdr(&w, flags, cmd, app, 7, 9);
	akv_dia_put_str(&w, AKV_DIA_AVP_SESSION_ID, 0, "peer.test;1;1");
	akv_dia_put_str(&w, AKV_DIA_AVP_ORIGIN_HOST, 0, "peer.test");
	n = akv_dia_wr_finish(&w);
	ck_assert_int_gt(n, 0);
	ck_assert_uint_le((size_t)n + alen, cap);
	if (alen) /* avps is NULL when there are none: memcpy(x, NULL, 0) is UB */
		memcpy(buf + n, avps, alen);
	n += (int)alen;
	buf[1] = (uint8_t)(n >> 16);
	buf[2] = (uint8_t)(n >> 8);
	buf[3] = (uint8_t)n;
	return (size_t)n;
}

static uint32_t
check_rc(const uint8_t *m, size_t n, struct akv_dia_error *err)
{
	struct akv_dia_hdr h;

	ck_assert_int_eq(akv_dia_check(m, n, &h, err), 0);
	return err->result_code;
}

/* ==== Dictionary ==== */

START_TEST(t_dia_avp_table_sorted)
{
	for (size_t i = 1; i < akv_dia_avp_count(); i++) {
		const struct akv_dia_avp_def *a = akv_dia_avp_at(i - 1), *b = akv_dia_avp_at(i);

		ck_assert_msg(a->vendor < b->vendor || (a->vendor == b->vendor && a->code < b->code),
			      "%s before %s", a->name, b->name);
	}
	for (size_t i = 0; i < akv_dia_avp_count(); i++) {
		const struct akv_dia_avp_def *d = akv_dia_avp_at(i);

		ck_assert_ptr_eq(akv_dia_avp_lookup(d->code, d->vendor), d);
	}
	ck_assert_ptr_null(akv_dia_avp_lookup(494, 50));
	ck_assert_ptr_null(akv_dia_avp_lookup(601, 0));	/* Public-Identity needs 10415 */
	ck_assert_str_eq(akv_dia_avp_lookup(612, V3GPP)->name, "SIP_AUTH_DATA_ITEM");
}
END_TEST

/* ==== Framing ==== */

START_TEST(t_dia_frame_len)
{
	uint8_t b[8] = { 1, 0, 0, 20, 0x80, 0, 1, 1 };

	ck_assert_int_eq(akv_dia_frame_len(b, 3, 65536), AKV_EPARTIAL);
	ck_assert_int_eq(akv_dia_frame_len(b, 4, 65536), 20);
	b[0] = 2;
	ck_assert_int_eq(akv_dia_frame_len(b, 8, 65536), AKV_EPROTO);	/* version */
	b[0] = 1;
	b[3] = 16;
	ck_assert_int_eq(akv_dia_frame_len(b, 8, 65536), AKV_EPROTO);	/* < 20 */
	b[3] = 22;
	ck_assert_int_eq(akv_dia_frame_len(b, 8, 65536), AKV_EPROTO);	/* not x4 */
	b[1] = 0xff;	/* 16 MiB - 234: refused before anything is allocated */
	b[2] = 0xff;
	b[3] = 0x1c;
	ck_assert_int_eq(akv_dia_frame_len(b, 8, 65536), AKV_ETOOBIG);
	ck_assert_int_eq(akv_dia_ops.frame_len(b, 8), AKV_ETOOBIG);
	b[1] = 1;
	b[2] = 0;
	b[3] = 0;
	ck_assert_int_eq(akv_dia_frame_len(b, 8, 65536), 65536);
}
END_TEST

/* ==== Golden messages and round trips ==== */

START_TEST(t_dia_golden_mar)
{
	uint8_t m[2048], b[2048];
	size_t n = fx_hex_load("mar_kamailio.hex", m, sizeof(m));
	struct akv_dia_error err;
	struct akv_dia_hdr h;
	struct akv_dia_avp a, item;
	const uint8_t *body = m + AKV_DIA_HDR_LEN;
	size_t bl = n - AKV_DIA_HDR_LEN;
	uint32_t v;
	struct akv_dia_node node = { .origin_host = "scscf.ims.test", .origin_realm = "ims.test" };
	struct akv_dia_mar mar = {
		.session_id = "scscf.ims.test;1700000000;1", .dest_realm = "ims.test",
		.impi = "alice@ims.test", .impu = "sip:alice@ims.test",
		.scheme = "Digest-AKAv1-MD5", .server_name = "sip:scscf.ims.test:6060", .n = 1,
	};

	ck_assert_int_eq(akv_dia_check(m, n, &h, &err), 0);
	ck_assert_uint_eq(err.result_code, 0);
	ck_assert_uint_eq(h.cmd, AKV_DIA_CMD_MA);
	ck_assert_uint_eq(h.flags, AKV_DIA_F_REQ | AKV_DIA_F_PROXY);
	ck_assert_uint_eq(h.app, AKV_DIA_APP_CX);
	ck_assert_uint_eq(h.hbh, 0x0a0b0c0d);
	ck_assert_int_eq(akv_dia_find(body, bl, AKV_DIA_AVP_USER_NAME, 0, &a), 1);
	ck_assert_int_eq(a.len, 14);
	ck_assert_mem_eq(a.data, "alice@ims.test", 14);
	ck_assert_int_eq(akv_dia_find_u32(body, bl, AKV_DIA_AVP_SIP_NUMBER_AUTH_ITEMS, V3GPP, &v), 1);
	ck_assert_uint_eq(v, 1);
	ck_assert_int_eq(akv_dia_find(body, bl, AKV_DIA_AVP_SIP_AUTH_DATA_ITEM, V3GPP, &item), 1);
	ck_assert_int_eq(akv_dia_find(item.data, item.len, AKV_DIA_AVP_SIP_AUTHENTICATION_SCHEME,
				      V3GPP, &a), 1);
	ck_assert_mem_eq(a.data, "Digest-AKAv1-MD5", 16);
	ck_assert_uint_eq(a.flags, AKV_DIA_AVP_F_V | AKV_DIA_AVP_F_M);
	ck_assert_int_eq(akv_dia_find(body, bl, AKV_DIA_AVP_PUBLIC_IDENTITY, 0, &a), 0);

	/* Our builder lays the same MAR out byte for byte. */
	ck_assert_int_eq(akv_dia_build_mar(b, sizeof(b), &node, &mar, 0x0a0b0c0d, 0x01020304),
			 (int)n);
	ck_assert_mem_eq(b, m, n);

	/* Resync variant: RAND || AUTS in the item. */
	n = fx_hex_load("mar_resync.hex", m, sizeof(m));
	mar.rand_auts = (const uint8_t *)"\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d"
					 "\x1e\x1f\xa0\xa1\xa2\xa3\xa4\xa5\xa6\xa7\xa8\xa9\xaa\xab"
					 "\xac\xad";
	ck_assert_int_eq(akv_dia_build_mar(b, sizeof(b), &node, &mar, 0x0a0b0c0e, 0x01020305),
			 (int)n);
	ck_assert_mem_eq(b, m, n);
}
END_TEST

START_TEST(t_dia_golden_cer_sar)
{
	uint8_t m[2048];
	size_t n = fx_hex_load("cer_kamailio.hex", m, sizeof(m));
	struct akv_dia_error err;

	ck_assert_uint_eq(check_rc(m, n, &err), 0);
	/* Kamailio's non-standard AVP 494 (vendor 50, no M) is skipped. */
	n = fx_hex_load("sar_kamailio.hex", m, sizeof(m));
	ck_assert_uint_eq(check_rc(m, n, &err), 0);
}
END_TEST

/* Messages captured from the real Kamailio in tests/interop/kamailio.sh
 * check clean, and its requests are dispatched to the engine. */
START_TEST(t_dia_captured_kamailio)
{
	static const char *const req[] = { "kamailio_mar.hex", "kamailio_mar_resync.hex",
					   "kamailio_sar.hex" };
	uint8_t m[2048], out[AKV_PROTO_OUT_MAX];
	size_t n = fx_hex_load("kamailio_cer.hex", m, sizeof(m)), olen;
	struct akv_dia_error err;
	struct akv_dia_conn c;
	struct akv_test_slot s;

	ck_assert_uint_eq(check_rc(m, n, &err), 0);
	fx_conn(&c, NULL);
	ck_assert_int_eq(fx_msg(&c, m, n, &s, out, &olen), AKV_PROTO_REPLY);
	ck_assert_uint_eq(c.state, AKV_DIA_OPEN);
	for (size_t i = 0; i < 3; i++) {
		n = fx_hex_load(req[i], m, sizeof(m));
		ck_assert_uint_eq(check_rc(m, n, &err), 0);
		ck_assert_int_eq(fx_msg(&c, m, n, &s, out, &olen), AKV_PROTO_DISPATCH);
		ck_assert_uint_eq(s.req.op, i == 0 ? AKV_OP_VECTORS : i == 1 ? AKV_OP_RESYNC
								       : AKV_OP_SAR);
		ck_assert_uint_gt(s.req.impi_len, 0);
	}
}
END_TEST

START_TEST(t_dia_roundtrip_types)
{
	uint8_t b[512];
	struct akv_dia_wr w;
	struct akv_dia_error err;
	struct akv_dia_hdr h;
	struct akv_dia_avp a, g;
	uint64_t v64;
	uint32_t v32;
	int n;

	akv_dia_wr_init(&w, b, sizeof(b));
	akv_dia_wr_hdr(&w, AKV_DIA_F_REQ, AKV_DIA_CMD_DW, 0, 1, 2);
	akv_dia_put_str(&w, AKV_DIA_AVP_ORIGIN_HOST, 0, "h");	/* 1 byte: 3 pad */
	akv_dia_put_u64(&w, AKV_DIA_AVP_ACCOUNTING_SUB_SESSION_ID, 0, 0x0102030405060708ull);
	akv_dia_group_begin(&w, AKV_DIA_AVP_SIP_AUTH_DATA_ITEM, V3GPP);
	akv_dia_group_begin(&w, AKV_DIA_AVP_SERVER_CAPABILITIES, V3GPP);
	akv_dia_put_u32(&w, AKV_DIA_AVP_MANDATORY_CAPABILITY, V3GPP, 77);
	akv_dia_group_end(&w);
	akv_dia_put(&w, AKV_DIA_AVP_SIP_AUTHENTICATE, V3GPP, "abcde", 5);
	akv_dia_group_end(&w);
	n = akv_dia_wr_finish(&w);
	ck_assert_int_eq(n % 4, 0);
	ck_assert_int_eq(akv_dia_check(b, (size_t)n, &h, &err), 0);
	ck_assert_uint_eq(err.result_code, 0);
	ck_assert_int_eq(akv_dia_find(b + 20, (size_t)n - 20, AKV_DIA_AVP_ORIGIN_HOST, 0, &a), 1);
	ck_assert_uint_eq(a.raw_len, 9);
	ck_assert_int_eq(akv_dia_find(b + 20, (size_t)n - 20,
				      AKV_DIA_AVP_ACCOUNTING_SUB_SESSION_ID, 0, &a), 1);
	ck_assert_int_eq(akv_dia_get_u64(&a, &v64), 0);
	ck_assert(v64 == 0x0102030405060708ull);
	ck_assert_int_eq(akv_dia_find(b + 20, (size_t)n - 20, AKV_DIA_AVP_SIP_AUTH_DATA_ITEM,
				      V3GPP, &g), 1);
	ck_assert_int_eq(akv_dia_find(g.data, g.len, AKV_DIA_AVP_SERVER_CAPABILITIES, V3GPP, &a), 1);
	ck_assert_int_eq(akv_dia_find_u32(a.data, a.len, AKV_DIA_AVP_MANDATORY_CAPABILITY, V3GPP,
					  &v32), 1);
	ck_assert_uint_eq(v32, 77);
	ck_assert_int_eq(akv_dia_find(g.data, g.len, AKV_DIA_AVP_SIP_AUTHENTICATE, V3GPP, &a), 1);
	ck_assert_uint_eq(a.len, 5);
	ck_assert_mem_eq(a.data, "abcde", 5);

	/* Overflow is sticky and reported once. */
	akv_dia_wr_init(&w, b, 40);
	akv_dia_wr_hdr(&w, 0, 280, 0, 1, 2);
	akv_dia_put_str(&w, AKV_DIA_AVP_ORIGIN_HOST, 0, "a-name-longer-than-the-room");
	ck_assert_int_eq(akv_dia_wr_finish(&w), AKV_ETOOBIG);
	/* An unclosed group is a caller bug, reported. */
	akv_dia_wr_init(&w, b, sizeof(b));
	akv_dia_wr_hdr(&w, 0, 280, 0, 1, 2);
	akv_dia_group_begin(&w, AKV_DIA_AVP_FAILED_AVP, 0);
	ck_assert_int_eq(akv_dia_wr_finish(&w), AKV_EINVAL);
}
END_TEST

/* ==== Every error code of akv_dia_check ==== */

START_TEST(t_dia_err_hdr_bits)
{
	uint8_t m[256];
	size_t n = mk_req(m, sizeof(m), AKV_DIA_F_REQ | 0x01, 280, 0, NULL, 0);
	struct akv_dia_error err;
	struct akv_dia_hdr h;

	ck_assert_uint_eq(check_rc(m, n, &err), AKV_DIA_INVALID_HDR_BITS);
	n = mk_req(m, sizeof(m), AKV_DIA_F_REQ | AKV_DIA_F_ERR, 280, 0, NULL, 0);
	ck_assert_uint_eq(check_rc(m, n, &err), AKV_DIA_INVALID_HDR_BITS);
	/* framing lost: version, length mismatch */
	m[0] = 2;
	ck_assert_int_eq(akv_dia_check(m, n, &h, &err), AKV_EPROTO);
	m[0] = 1;
	ck_assert_int_eq(akv_dia_check(m, n - 4, &h, &err), AKV_EPROTO);
}
END_TEST

START_TEST(t_dia_err_avp_bits)
{
	uint8_t m[256], a[12] = { 0, 0, 1, 0x0a, 0x41, 0, 0, 12, 0, 0, 0x28, 0xaf };
	struct akv_dia_error err;
	size_t n = mk_req(m, sizeof(m), AKV_DIA_F_REQ, 280, 0, a, sizeof(a));

	/* Vendor-Id with a reserved flag bit (0x01) */
	ck_assert_uint_eq(check_rc(m, n, &err), AKV_DIA_INVALID_AVP_BITS);
	ck_assert_uint_eq(err.failed_len, 12);
	ck_assert_mem_eq(err.failed, a, 12);
}
END_TEST

START_TEST(t_dia_err_avp_length)
{
	uint8_t m[256];
	/* AVP Length 4 < header */
	uint8_t shrt[8] = { 0, 0, 1, 0x0a, 0x40, 0, 0, 4 };
	/* AVP Length 200 > what is left */
	uint8_t over[12] = { 0, 0, 0x02, 0x59, 0xc0, 0, 0, 200, 0, 0, 0x28, 0xaf };
	/* Unsigned32 with 5 data bytes */
	uint8_t u5[16] = { 0, 0, 1, 0x0a, 0x40, 0, 0, 13, 0, 0, 0x28, 0xaf, 1, 0, 0, 0 };
	struct akv_dia_error err;
	struct akv_dia_avp f;
	size_t n;

	n = mk_req(m, sizeof(m), AKV_DIA_F_REQ, 280, 0, shrt, sizeof(shrt));
	ck_assert_uint_eq(check_rc(m, n, &err), AKV_DIA_INVALID_AVP_LENGTH);
	ck_assert_uint_eq(err.failed_len, 12);	/* header + zeroed Unsigned32 */

	n = mk_req(m, sizeof(m), AKV_DIA_F_REQ, 280, 0, over, sizeof(over));
	ck_assert_uint_eq(check_rc(m, n, &err), AKV_DIA_INVALID_AVP_LENGTH);
	/* §7.5: header (Server-Name 602, V, vendor 10415) with minimum payload */
	ck_assert_uint_eq(err.failed_len, 12);
	ck_assert_uint_eq(err.failed[3], 0x59);
	ck_assert_uint_eq(err.failed[7], 12);

	n = mk_req(m, sizeof(m), AKV_DIA_F_REQ, 280, 0, u5, sizeof(u5));
	ck_assert_uint_eq(check_rc(m, n, &err), AKV_DIA_INVALID_AVP_LENGTH);
	ck_assert_uint_eq(err.failed_len, 13);

	/* The error answer carries it inside Failed-AVP. */
	{
		struct akv_dia_conn c;
		struct akv_test_slot s;
		uint8_t out[AKV_PROTO_OUT_MAX];
		size_t olen;
		struct akv_dia_hdr h;
		struct akv_dia_result r;

		fx_conn(&c, NULL);
		fx_open(&c);
		ck_assert_int_eq(fx_msg(&c, m, n, &s, out, &olen), AKV_PROTO_REPLY);
		ck_assert_int_eq(akv_dia_parse_result(out, olen, &h, &r), 0);
		ck_assert_uint_eq(r.result_code, AKV_DIA_INVALID_AVP_LENGTH);
		ck_assert_uint_eq(h.hbh, 7);
		ck_assert_int_eq(fx_failed_avp(out, olen, &f), 1);
		ck_assert_uint_eq(f.code, AKV_DIA_AVP_VENDOR_ID);
		ck_assert_uint_eq(f.raw_len, 13);
	}
}
END_TEST

START_TEST(t_dia_err_grouped_length)
{
	uint8_t m[256];
	/* VSAI whose member claims more bytes than the group holds */
	uint8_t g[20] = { 0, 0, 1, 4, 0x40, 0, 0, 20, 0, 0, 1, 0x0a, 0x40, 0, 0, 16, 0, 0, 0x28, 0xaf };
	struct akv_dia_error err;
	size_t n = mk_req(m, sizeof(m), AKV_DIA_F_REQ, 280, 0, g, sizeof(g));

	ck_assert_uint_eq(check_rc(m, n, &err), AKV_DIA_INVALID_AVP_LENGTH);
}
END_TEST

START_TEST(t_dia_err_msg_length)
{
	uint8_t m[256], tail[4] = { 0, 0, 1, 0x0a };
	struct akv_dia_error err;
	size_t n = mk_req(m, sizeof(m), AKV_DIA_F_REQ, 280, 0, tail, sizeof(tail));

	ck_assert_uint_eq(check_rc(m, n, &err), AKV_DIA_INVALID_MESSAGE_LENGTH);
	ck_assert_uint_eq(err.failed_len, 0);
}
END_TEST

START_TEST(t_dia_err_unknown_avp)
{
	uint8_t m[256];
	uint8_t unk_m[12] = { 0, 0, 0x30, 0x39, 0x40, 0, 0, 12, 1, 2, 3, 4 };
	uint8_t unk[12] = { 0, 0, 0x30, 0x39, 0x00, 0, 0, 12, 1, 2, 3, 4 };
	struct akv_dia_error err;
	size_t n;

	n = mk_req(m, sizeof(m), AKV_DIA_F_REQ, 280, 0, unk_m, sizeof(unk_m));
	ck_assert_uint_eq(check_rc(m, n, &err), AKV_DIA_AVP_UNSUPPORTED);
	ck_assert_uint_eq(err.failed_len, 12);
	ck_assert_mem_eq(err.failed, unk_m, 12);
	n = mk_req(m, sizeof(m), AKV_DIA_F_REQ, 280, 0, unk, sizeof(unk));
	ck_assert_uint_eq(check_rc(m, n, &err), 0);
}
END_TEST

START_TEST(t_dia_err_invalid_value)
{
	uint8_t m[256];
	/* User-Name with an invalid UTF-8 sequence (overlong '/') */
	uint8_t bad_utf8[12] = { 0, 0, 0, 1, 0x40, 0, 0, 10, 0xc0, 0xaf, 0, 0 };
	/* Host-IP-Address, family IPv4 with 6 address bytes */
	uint8_t bad_addr[16] = { 0, 0, 1, 1, 0x40, 0, 0, 16, 0, 1, 1, 2, 3, 4, 5, 6 };
	/* Origin-Realm with a space */
	uint8_t bad_ident[12] = { 0, 0, 1, 0x28, 0x40, 0, 0, 11, 'a', ' ', 'b', 0 };
	struct akv_dia_error err;
	size_t n;

	n = mk_req(m, sizeof(m), AKV_DIA_F_REQ, 280, 0, bad_utf8, sizeof(bad_utf8));
	ck_assert_uint_eq(check_rc(m, n, &err), AKV_DIA_INVALID_AVP_VALUE);
	ck_assert_uint_eq(err.failed_len, 10);
	n = mk_req(m, sizeof(m), AKV_DIA_F_REQ, 280, 0, bad_addr, sizeof(bad_addr));
	ck_assert_uint_eq(check_rc(m, n, &err), AKV_DIA_INVALID_AVP_VALUE);
	n = mk_req(m, sizeof(m), AKV_DIA_F_REQ, 280, 0, bad_ident, sizeof(bad_ident));
	ck_assert_uint_eq(check_rc(m, n, &err), AKV_DIA_INVALID_AVP_VALUE);
}
END_TEST

START_TEST(t_dia_err_nesting)
{
	uint8_t m[1024], g[512];
	struct akv_dia_wr w;
	struct akv_dia_error err;
	int n;

	/* 8 nested Proxy-Infos: deeper than AKV_DIA_DEPTH_MAX allows */
	akv_dia_wr_init(&w, g, sizeof(g));
	akv_dia_wr_hdr(&w, 0, 0, 0, 0, 0);
	for (int i = 0; i < 8; i++)
		akv_dia_group_begin(&w, AKV_DIA_AVP_PROXY_INFO, 0);
	for (int i = 0; i < 8; i++)
		akv_dia_group_end(&w);
	n = akv_dia_wr_finish(&w);
	ck_assert_int_gt(n, 20);
	n = (int)mk_req(m, sizeof(m), AKV_DIA_F_REQ, 280, 0, g + 20, (size_t)n - 20);
	ck_assert_uint_eq(check_rc(m, (size_t)n, &err), AKV_DIA_INVALID_AVP_VALUE);
}
END_TEST

START_TEST(t_dia_missing_example)
{
	struct akv_dia_error err;

	akv_dia_err_missing(&err, AKV_DIA_AVP_SIP_NUMBER_AUTH_ITEMS, V3GPP);
	ck_assert_uint_eq(err.result_code, AKV_DIA_MISSING_AVP);
	ck_assert_uint_eq(err.failed_len, 16);	/* header 12 + zero Unsigned32 */
	ck_assert_mem_eq(err.failed, "\x00\x00\x02\x5f\xc0\x00\x00\x10\x00\x00\x28\xaf\0\0\0\0",
			 16);
}
END_TEST

/* ==== One-pass index (akv_dia_check_idx) ==== */

/* The index answers every dictionary row as akv_dia_count/akv_dia_find
 * over the top level would, and check_idx judges exactly as check. */
static void
idx_agrees(const uint8_t *m, size_t n)
{
	struct akv_dia_error e1, e2;
	struct akv_dia_hdr h1, h2;
	struct akv_dia_idx x;
	int r1 = akv_dia_check(m, n, &h1, &e1), r2 = akv_dia_check_idx(m, n, &h2, &e2, &x);

	ck_assert_int_eq(r1, r2);
	if (r1 < 0)
		return;
	ck_assert_uint_eq(e1.result_code, e2.result_code);
	ck_assert_uint_eq(e1.failed_len, e2.failed_len);
	ck_assert_mem_eq(e1.failed, e2.failed, e1.failed_len);
	ck_assert_ptr_eq(e1.text, e2.text);
	if (e1.result_code)
		return;
	for (size_t r = 0; r < akv_dia_avp_count(); r++) {
		const struct akv_dia_avp_def *d = akv_dia_avp_at(r);
		unsigned want = akv_dia_count(m + 20, n - 20, d->code, d->vendor);
		struct akv_dia_avp a, b;
		int fa = akv_dia_find(m + 20, n - 20, d->code, d->vendor, &a);
		int fb = akv_dia_idx_find(&x, (enum akv_dia_row)r, &b);

		ck_assert_uint_eq(akv_dia_idx_count(&x, (enum akv_dia_row)r),
				  want > 255 ? 255 : want);
		ck_assert_int_eq(fa, fb);
		if (!fa)
			continue;
		ck_assert_ptr_eq(a.raw, b.raw);
		ck_assert_ptr_eq(a.data, b.data);
		ck_assert_uint_eq(a.len, b.len);
		ck_assert_uint_eq(a.raw_len, b.raw_len);
		ck_assert_uint_eq(a.code, b.code);
		ck_assert_uint_eq(a.vendor, b.vendor);
		ck_assert_uint_eq(a.flags, b.flags);
	}
}

/* A copy of base (n bytes) into m with 1-3 bits flipped past the version
 * byte and, one time in four, a Message-Length cut to a multiple of 4:
 * returns the length written into the header. */
static size_t
mutate(uint8_t *m, const uint8_t *base, size_t n, uint64_t *seed)
{
	size_t len = n;

	memcpy(m, base, n);
	for (int k = 1 + (int)(akv_test_rand64(seed) % 3); k > 0; k--)
		m[4 + akv_test_rand64(seed) % (n - 4)] ^= (uint8_t)(1u << (akv_test_rand64(seed) % 8));
	if (akv_test_rand64(seed) % 4 == 0)
		len = 20 + 4 * (akv_test_rand64(seed) % ((n - 20) / 4));
	m[1] = (uint8_t)(len >> 16);
	m[2] = (uint8_t)(len >> 8);
	m[3] = (uint8_t)len;
	return len;
}

START_TEST(t_dia_idx_matches_walk)
{
	static const char *const files[] = { "mar_kamailio.hex", "mar_resync.hex",
					     "sar_kamailio.hex", "kamailio_mar.hex",
					     "kamailio_sar.hex", "cer_kamailio.hex",
					     "kamailio_cer.hex", "kamailio_mar_resync.hex" };
	uint64_t seed = 0x1d8;
	uint8_t base[2048], m[2048];

	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		size_t n = fx_hex_load(files[f], base, sizeof(base));

		idx_agrees(base, n);
		for (int it = 0; it < 2000; it++) {
			size_t len = mutate(m, base, n, &seed);

			idx_agrees(m, len);
		}
	}
}
END_TEST

/* akv_dia_check_memo() judges and indexes exactly as akv_dia_check_idx():
 * x is checked through a memo m that the caller keeps across messages. */
static void
memo_agrees(const uint8_t *msg, size_t n, struct akv_dia_memo *m)
{
	struct akv_dia_error e1, e2;
	struct akv_dia_hdr h1, h2;
	struct akv_dia_idx x1, x2;
	int r1 = akv_dia_check_idx(msg, n, &h1, &e1, &x1);
	int r2 = akv_dia_check_memo(msg, n, &h2, &e2, &x2, m);

	ck_assert_int_eq(r1, r2);
	if (r1 < 0)
		return;
	ck_assert_uint_eq(h1.version, h2.version);
	ck_assert_uint_eq(h1.flags, h2.flags);
	ck_assert_uint_eq(h1.len, h2.len);
	ck_assert_uint_eq(h1.cmd, h2.cmd);
	ck_assert_uint_eq(h1.app, h2.app);
	ck_assert_uint_eq(h1.hbh, h2.hbh);
	ck_assert_uint_eq(h1.e2e, h2.e2e);
	ck_assert_uint_eq(e1.result_code, e2.result_code);
	ck_assert_ptr_eq(e1.text, e2.text);
	ck_assert_uint_eq(e1.failed_len, e2.failed_len);
	ck_assert_mem_eq(e1.failed, e2.failed, e1.failed_len);
	if (e1.result_code)
		return;
	ck_assert_ptr_eq(x1.msg, x2.msg);
	for (unsigned r = 0; r < AKV_DIA_NROWS; r++) {
		ck_assert_uint_eq(x1.count[r], x2.count[r]);
		if (x1.count[r])
			ck_assert_uint_eq(x1.first[r], x2.first[r]);
	}
}

/* A peer's memo learns the AVPs it repeats and changes no verdict or index
 * entry: captured requests, their mutations (inside and outside the learned
 * runs, cut short), and a request holding a learned run twice. */
START_TEST(t_dia_memo_matches_walk)
{
	static const char *const files[] = { "mar_kamailio.hex", "kamailio_mar.hex",
					     "kamailio_mar_resync.hex", "sar_kamailio.hex",
					     "kamailio_sar.hex" };
	uint64_t seed = 0x3e30;
	uint8_t base[2048], m[4096];

	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		struct akv_dia_memo memo;
		size_t n = fx_hex_load(files[f], base, sizeof(base));
		unsigned hits = 0;

		memset(&memo, 0, sizeof(memo));
		memo_agrees(base, n, &memo);
		ck_assert_uint_gt(memo.nrun, 0);
		for (int it = 0; it < 3000; it++) {
			size_t len = mutate(m, base, n, &seed);

			memo_agrees(m, len, &memo);
			hits += memo.nrun && !memo.misses;
			if (it % 8 == 0)
				memo_agrees(base, n, &memo);
		}
		ck_assert_uint_gt(hits, 100);
		/* the AVP area twice: each run matches twice, counts are 2 */
		memcpy(m, base, n);
		memcpy(m + n, base + 20, n - 20);
		m[1] = (uint8_t)((2 * n - 20) >> 16);
		m[2] = (uint8_t)((2 * n - 20) >> 8);
		m[3] = (uint8_t)(2 * n - 20);
		memo_agrees(m, 2 * n - 20, &memo);
		ck_assert_uint_eq(memo.misses, 0);
	}
}
END_TEST

/* Duplicates, counts past 255, members of a Grouped, unknown AVPs, and the
 * faults that stop a walk: the index holds only what a clean walk saw. */
START_TEST(t_dia_idx_hostile)
{
	static uint8_t m[8192], avps[8192];
	struct akv_dia_wr w;
	struct akv_dia_error err;
	struct akv_dia_hdr h;
	struct akv_dia_idx x;
	struct akv_dia_avp a;
	size_t n;
	int al;

	/* 300 User-Names: count saturates, the first one is the one found */
	akv_dia_wr_init(&w, avps, sizeof(avps));
	akv_dia_wr_hdr(&w, 0, 0, 0, 0, 0);
	akv_dia_put_str(&w, AKV_DIA_AVP_USER_NAME, 0, "first@x");
	for (int i = 0; i < 299; i++)
		akv_dia_put_str(&w, AKV_DIA_AVP_USER_NAME, 0, "later@x");
	/* a Grouped whose members are not top-level AVPs */
	akv_dia_group_begin(&w, AKV_DIA_AVP_SIP_AUTH_DATA_ITEM, V3GPP);
	akv_dia_put_str(&w, AKV_DIA_AVP_SIP_AUTHENTICATION_SCHEME, V3GPP, "Digest-AKAv1-MD5");
	akv_dia_group_end(&w);
	/* unknown without M: skipped, and not confused with a known code */
	akv_dia_put_flags(&w, AKV_DIA_AVP_USER_NAME, 0, 5535, "v", 1);
	al = akv_dia_wr_finish(&w);
	ck_assert_int_gt(al, 20);
	n = mk_req(m, sizeof(m), AKV_DIA_F_REQ, 280, 0, avps + 20, (size_t)al - 20);
	idx_agrees(m, n);
	ck_assert_int_eq(akv_dia_check_idx(m, n, &h, &err, &x), 0);
	ck_assert_uint_eq(err.result_code, 0);
	ck_assert_uint_eq(akv_dia_idx_count(&x, AKV_DIA_ROW_USER_NAME), 255);
	ck_assert_int_eq(akv_dia_idx_find(&x, AKV_DIA_ROW_USER_NAME, &a), 1);
	ck_assert_uint_eq(a.len, 7);
	ck_assert_mem_eq(a.data, "first@x", 7);
	ck_assert_uint_eq(akv_dia_idx_count(&x, AKV_DIA_ROW_SESSION_ID), 1);
	ck_assert_uint_eq(akv_dia_idx_count(&x, AKV_DIA_ROW_SIP_AUTH_DATA_ITEM), 1);
	ck_assert_uint_eq(akv_dia_idx_count(&x, AKV_DIA_ROW_SIP_AUTHENTICATION_SCHEME), 0);
	ck_assert_int_eq(akv_dia_idx_find(&x, AKV_DIA_ROW_PUBLIC_IDENTITY, &a), 0);

	/* a zero AVP Length (a walk that would never advance), a member
	 * overrunning its Grouped, and a Grouped with bytes left over that
	 * cannot hold a member: refused as before, never indexed past them */
	{
		uint8_t loop[8] = { 0, 0, 0, 1, 0x40, 0, 0, 0 };
		uint8_t over[32] = { 0, 0, 2, 0x64, 0xc0, 0, 0, 32, 0, 0, 0x28, 0xaf,
				     0, 0, 2, 0x60, 0xc0, 0, 0, 28, 0, 0, 0x28, 0xaf,
				     'D', 'i', 'g', 'e', 's', 't', '-', 'A' };
		uint8_t left[32] = { 0, 0, 2, 0x64, 0xc0, 0, 0, 32, 0, 0, 0x28, 0xaf,
				     0, 0, 2, 0x65, 0xc0, 0, 0, 16, 0, 0, 0x28, 0xaf,
				     0, 0, 0, 1, 9, 9, 9, 9 };

		n = mk_req(m, sizeof(m), AKV_DIA_F_REQ, 280, 0, loop, sizeof(loop));
		idx_agrees(m, n);
		ck_assert_uint_eq(check_rc(m, n, &err), AKV_DIA_INVALID_AVP_LENGTH);
		ck_assert_uint_eq(err.failed[3], 1);
		n = mk_req(m, sizeof(m), AKV_DIA_F_REQ, 280, 0, over, sizeof(over));
		idx_agrees(m, n);
		ck_assert_uint_eq(check_rc(m, n, &err), AKV_DIA_INVALID_AVP_LENGTH);
		ck_assert_uint_eq(err.failed_len, 12);	/* the member, minimum payload */
		ck_assert_uint_eq(err.failed[3], 0x60);
		ck_assert_uint_eq(err.failed[7], 12);
		n = mk_req(m, sizeof(m), AKV_DIA_F_REQ, 280, 0, left, sizeof(left));
		idx_agrees(m, n);
		ck_assert_uint_eq(check_rc(m, n, &err), AKV_DIA_INVALID_AVP_LENGTH);
		ck_assert_uint_eq(err.failed_len, 32);	/* the Grouped, whole */
		ck_assert_uint_eq(err.failed[3], 0x64);
	}
}
END_TEST

/* Reference validators, one byte at a time. */
static int
ref_ident(const uint8_t *s, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return 0;
	return 1;
}

static int
ref_utf8(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint32_t cp, min;
		size_t k;

		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0)
			k = 1, cp = s[i] & 0x1f, min = 0x80;
		else if ((s[i] & 0xf0) == 0xe0)
			k = 2, cp = s[i] & 0x0f, min = 0x800;
		else if ((s[i] & 0xf8) == 0xf0)
			k = 3, cp = s[i] & 0x07, min = 0x10000;
		else
			return 0;
		if (i + k >= n)
			return 0;	/* truncated sequence */
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += k + 1;
	}
	return 1;
}

/* DiameterIdentity and UTF8String checks, which look at eight bytes at a
 * time, agree with the byte-wise rules at every length, position and value. */
START_TEST(t_dia_value_words)
{
	static const uint8_t probes[] = { 0x00, 0x01, 0x20, 0x21, 0x41, 0x7e, 0x7f, 0x80,
					  0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0,
					  0xf4, 0xf5, 0xff };
	uint8_t s[80];
	uint64_t seed = 0x7a1;
	struct akv_dia_avp a = { .code = AKV_DIA_AVP_ORIGIN_HOST, .data = s };
	struct akv_dia_avp u = { .code = AKV_DIA_AVP_USER_NAME, .data = s };

	for (size_t len = 0; len <= 40; len++) {
		for (size_t pos = 0; pos < (len ? len : 1); pos++) {
			for (size_t b = 0; b < sizeof(probes); b++) {
				memset(s, 'a', sizeof(s));
				if (len)
					s[pos] = probes[b];
				a.len = u.len = (uint32_t)len;
				ck_assert_int_eq(akv_dia_avp_valid(&a), ref_ident(s, len));
				ck_assert_int_eq(akv_dia_avp_valid(&u), ref_utf8(s, len));
			}
		}
	}
	/* random strings over an alphabet rich in boundary bytes */
	for (int it = 0; it < 200000; it++) {
		size_t len = akv_test_rand64(&seed) % 70;

		for (size_t i = 0; i < len; i++) {
			uint64_t r = akv_test_rand64(&seed);

			s[i] = (r & 3) ? (uint8_t)('0' + (r >> 8) % 60)
				       : probes[(r >> 8) % sizeof(probes)];
			if ((r & 0xff00000) == 0)
				s[i] = (uint8_t)(0x80 | (r >> 32) % 64);	/* continuation */
		}
		a.len = u.len = (uint32_t)len;
		ck_assert_int_eq(akv_dia_avp_valid(&a), ref_ident(s, len));
		ck_assert_int_eq(akv_dia_avp_valid(&u), ref_utf8(s, len));
	}
}
END_TEST

/* akv_copy_short copies exactly n bytes at every length and alignment, and
 * touches nothing around them (its moves overlap inside the range only). */
START_TEST(t_dia_copy_short)
{
	static uint8_t src[700], dst[700], want[700];
	uint64_t seed = 0xc0;

	akv_test_fill(&seed, src, sizeof(src));
	for (size_t n = 0; n <= 600; n++) {
		for (size_t off = 0; off < 8; off++) {
			/* one compare of the whole buffer: bytes around the copy
			 * untouched (a per-byte assert made this test take seconds
			 * under sanitizers and on a loaded machine) */
			memset(dst, 0xa5, sizeof(dst));
			memset(want, 0xa5, sizeof(want));
			memcpy(want + 40 + off, src + 7 + off, n);
			akv_copy_short(dst + 40 + off, src + 7 + off, n);
			ck_assert_msg(!memcmp(dst, want, sizeof(dst)), "n %zu off %zu", n, off);
		}
	}
}
END_TEST

/* ==== Peer state machine ==== */

START_TEST(t_dia_peer_before_cer)
{
	struct akv_dia_conn c;
	struct akv_test_slot s;
	uint8_t m[2048], out[AKV_PROTO_OUT_MAX];
	size_t n = fx_hex_load("mar_kamailio.hex", m, sizeof(m)), olen;
	struct akv_dia_hdr h;
	struct akv_dia_result r;

	fx_conn(&c, NULL);
	ck_assert_int_eq(fx_msg(&c, m, n, &s, out, &olen), AKV_PROTO_CLOSE);
	ck_assert_int_eq(akv_dia_parse_result(out, olen, &h, &r), 0);
	ck_assert_uint_eq(r.result_code, AKV_DIA_UNKNOWN_PEER);
	ck_assert_uint_eq(h.flags & AKV_DIA_F_ERR, AKV_DIA_F_ERR);
	ck_assert_uint_eq(s.req.op, 0);	/* nothing dispatched */
}
END_TEST

START_TEST(t_dia_peer_cea)
{
	struct akv_dia_conn c;
	uint8_t m[2048], out[AKV_PROTO_OUT_MAX];
	size_t n = fx_hex_load("cer_kamailio.hex", m, sizeof(m)), olen;
	struct akv_test_slot s;
	struct akv_dia_hdr h;
	struct akv_dia_result r;
	struct akv_dia_avp a;
	const uint8_t *b = out + 20;
	uint32_t v;

	fx_conn(&c, NULL);
	ck_assert_int_eq(fx_msg(&c, m, n, &s, out, &olen), AKV_PROTO_REPLY);
	ck_assert_int_eq(akv_dia_parse_result(out, olen, &h, &r), 0);
	ck_assert_uint_eq(r.result_code, 2001);
	ck_assert_uint_eq(h.cmd, 257);
	ck_assert_uint_eq(h.hbh, 0x11223344);
	ck_assert_uint_eq(h.e2e, 0x55667788);
	ck_assert_uint_eq(h.flags, 0);
	/* REFERENCE §7.1: VSAI {10415, 16777216} or Kamailio routes nothing */
	ck_assert_int_eq(akv_dia_find(b, olen - 20, AKV_DIA_AVP_VENDOR_SPECIFIC_APPLICATION_ID, 0,
				      &a), 1);
	ck_assert_int_eq(akv_dia_find_u32(a.data, a.len, AKV_DIA_AVP_VENDOR_ID, 0, &v), 1);
	ck_assert_uint_eq(v, 10415);
	ck_assert_int_eq(akv_dia_find_u32(a.data, a.len, AKV_DIA_AVP_AUTH_APPLICATION_ID, 0, &v),
			 1);
	ck_assert_uint_eq(v, 16777216);
	ck_assert_int_eq(akv_dia_find_u32(b, olen - 20, AKV_DIA_AVP_SUPPORTED_VENDOR_ID, 0, &v), 1);
	ck_assert_uint_eq(v, 10415);
	ck_assert_int_eq(akv_dia_find_u32(b, olen - 20, AKV_DIA_AVP_VENDOR_ID, 0, &v), 1);
	ck_assert_int_eq(akv_dia_find_u32(b, olen - 20, AKV_DIA_AVP_ORIGIN_STATE_ID, 0, &v), 1);
	ck_assert_uint_ne(v, 0);
	ck_assert_int_eq(akv_dia_find(b, olen - 20, AKV_DIA_AVP_HOST_IP_ADDRESS, 0, &a), 1);
	ck_assert_uint_eq(a.len, 6);
	ck_assert_int_eq(akv_dia_find(b, olen - 20, AKV_DIA_AVP_PRODUCT_NAME, 0, &a), 1);
	ck_assert_uint_eq(a.flags & AKV_DIA_AVP_F_M, 0);
	ck_assert_str_eq(c.peer_host, "scscf.ims.test");
}
END_TEST

static size_t
mk_cer(uint8_t *out, size_t cap, const char *host, int with_cx)
{
	struct akv_dia_wr w;
	static const uint8_t ip[4] = { 127, 0, 0, 1 };

	akv_dia_wr_init(&w, out, cap);
	akv_dia_wr_hdr(&w, AKV_DIA_F_REQ, 257, 0, 1, 1);
	akv_dia_put_str(&w, AKV_DIA_AVP_ORIGIN_HOST, 0, host);
	akv_dia_put_str(&w, AKV_DIA_AVP_ORIGIN_REALM, 0, "ims.test");
	akv_dia_put_addr(&w, AKV_DIA_AVP_HOST_IP_ADDRESS, 1, ip, 4);
	akv_dia_put_u32(&w, AKV_DIA_AVP_VENDOR_ID, 0, 0);
	akv_dia_put_str(&w, AKV_DIA_AVP_PRODUCT_NAME, 0, "t");
	akv_dia_put_u32(&w, AKV_DIA_AVP_AUTH_APPLICATION_ID, 0, with_cx ? AKV_DIA_APP_CX : 4);
	return (size_t)akv_dia_wr_finish(&w);
}

START_TEST(t_dia_peer_cer_rejects)
{
	static struct akv_cfg cfg;
	struct akv_dia_conn c;
	struct akv_test_slot s;
	uint8_t m[512], out[AKV_PROTO_OUT_MAX];
	size_t n, olen;
	struct akv_dia_hdr h;
	struct akv_dia_result r;
	struct akv_dia_avp f;

	akv_cfg_default(&cfg);
	/* No common application -> 5010, then close (§5.3). */
	fx_conn(&c, &cfg);
	n = mk_cer(m, sizeof(m), "a.test", 0);
	ck_assert_int_eq(fx_msg(&c, m, n, &s, out, &olen), AKV_PROTO_CLOSE);
	ck_assert_int_eq(akv_dia_parse_result(out, olen, &h, &r), 0);
	ck_assert_uint_eq(r.result_code, AKV_DIA_NO_COMMON_APPLICATION);

	/* A peer that insists on in-band TLS: 5017, then close (§6.10). */
	fx_conn(&c, &cfg);
	n = mk_cer(m, sizeof(m), "a.test", 1);
	{
		struct akv_dia_wr w;

		akv_dia_wr_init(&w, m + n, sizeof(m) - n);
		akv_dia_put_u32(&w, AKV_DIA_AVP_INBAND_SECURITY_ID, 0, 1);
		n += w.len;
		m[1] = (uint8_t)(n >> 16);
		m[2] = (uint8_t)(n >> 8);
		m[3] = (uint8_t)n;
	}
	ck_assert_int_eq(fx_msg(&c, m, n, &s, out, &olen), AKV_PROTO_CLOSE);
	ck_assert_int_eq(akv_dia_parse_result(out, olen, &h, &r), 0);
	ck_assert_uint_eq(r.result_code, AKV_DIA_NO_COMMON_SECURITY);

	/* Allowed peers: only scscf.ims.test from 127.0.0.1, with IND 7. */
	ck_assert_int_eq(akv_cfg_parse_peer("scscf.ims.test 127.0.0.1 ind=7", &cfg.dia.peers[0]),
			 0);
	cfg.dia.npeers = 1;
	fx_conn(&c, &cfg);
	n = mk_cer(m, sizeof(m), "intruder.test", 1);
	ck_assert_int_eq(fx_msg(&c, m, n, &s, out, &olen), AKV_PROTO_CLOSE);
	ck_assert_int_eq(akv_dia_parse_result(out, olen, &h, &r), 0);
	ck_assert_uint_eq(r.result_code, AKV_DIA_UNKNOWN_PEER);
	ck_assert_uint_eq(h.flags & AKV_DIA_F_ERR, AKV_DIA_F_ERR);
	fx_conn(&c, &cfg);
	n = mk_cer(m, sizeof(m), "scscf.ims.test", 1);
	ck_assert_int_eq(fx_msg(&c, m, n, &s, out, &olen), AKV_PROTO_REPLY);
	ck_assert_int_eq(akv_dia_parse_result(out, olen, &h, &r), 0);
	ck_assert_uint_eq(r.result_code, 2001);
	ck_assert_int_eq(c.ind, 7);

	/* A CER without Origin-Realm -> 5005 with an example Origin-Realm. */
	fx_conn(&c, NULL);
	{
		struct akv_dia_wr w;

		akv_dia_wr_init(&w, m, sizeof(m));
		akv_dia_wr_hdr(&w, AKV_DIA_F_REQ, 257, 0, 1, 1);
		akv_dia_put_str(&w, AKV_DIA_AVP_ORIGIN_HOST, 0, "x.test");
		n = (size_t)akv_dia_wr_finish(&w);
	}
	ck_assert_int_eq(fx_msg(&c, m, n, &s, out, &olen), AKV_PROTO_CLOSE);
	ck_assert_int_eq(akv_dia_parse_result(out, olen, &h, &r), 0);
	ck_assert_uint_eq(r.result_code, AKV_DIA_MISSING_AVP);
	ck_assert_int_eq(fx_failed_avp(out, olen, &f), 1);
	ck_assert_uint_eq(f.code, AKV_DIA_AVP_ORIGIN_REALM);
}
END_TEST

START_TEST(t_dia_peer_dwr_dpr)
{
	struct akv_dia_conn c;
	struct akv_test_slot s;
	struct akv_dia_node node = { .origin_host = "scscf.ims.test", .origin_realm = "ims.test" };
	uint8_t m[512], out[AKV_PROTO_OUT_MAX];
	size_t n, olen;
	struct akv_dia_hdr h;
	struct akv_dia_result r;

	fx_conn(&c, NULL);
	fx_open(&c);
	n = (size_t)akv_dia_build_dwr(m, sizeof(m), &node, 99, 98);
	ck_assert_int_eq(fx_msg(&c, m, n, &s, out, &olen), AKV_PROTO_REPLY);
	ck_assert_int_eq(akv_dia_parse_result(out, olen, &h, &r), 0);
	ck_assert_uint_eq(h.cmd, 280);
	ck_assert_uint_eq(h.hbh, 99);
	ck_assert_uint_eq(r.result_code, 2001);

	/* Unknown base command -> 3001 with E; unknown application -> 3007. */
	n = mk_req(m, sizeof(m), AKV_DIA_F_REQ, 274, 0, NULL, 0);
	ck_assert_int_eq(fx_msg(&c, m, n, &s, out, &olen), AKV_PROTO_REPLY);
	ck_assert_int_eq(akv_dia_parse_result(out, olen, &h, &r), 0);
	ck_assert_uint_eq(r.result_code, AKV_DIA_COMMAND_UNSUPPORTED);
	ck_assert_uint_eq(h.flags & AKV_DIA_F_ERR, AKV_DIA_F_ERR);
	n = mk_req(m, sizeof(m), AKV_DIA_F_REQ | AKV_DIA_F_PROXY, 272, 4, NULL, 0);
	ck_assert_int_eq(fx_msg(&c, m, n, &s, out, &olen), AKV_PROTO_REPLY);
	ck_assert_int_eq(akv_dia_parse_result(out, olen, &h, &r), 0);
	ck_assert_uint_eq(r.result_code, AKV_DIA_APPLICATION_UNSUPPORTED);
	/* HSS-initiated Cx commands are not answered by an HSS: 3001. */
	n = mk_req(m, sizeof(m), AKV_DIA_F_REQ | AKV_DIA_F_PROXY, AKV_DIA_CMD_RT, AKV_DIA_APP_CX,
		   NULL, 0);
	ck_assert_int_eq(fx_msg(&c, m, n, &s, out, &olen), AKV_PROTO_REPLY);
	ck_assert_int_eq(akv_dia_parse_result(out, olen, &h, &r), 0);
	ck_assert_uint_eq(r.result_code, AKV_DIA_COMMAND_UNSUPPORTED);
	/* An answer with an unknown Hop-by-Hop id is discarded silently. */
	n = mk_req(m, sizeof(m), 0, 280, 0, NULL, 0);
	ck_assert_int_eq(fx_msg(&c, m, n, &s, out, &olen), AKV_PROTO_REPLY);
	ck_assert_uint_eq(olen, 0);

	n = (size_t)akv_dia_build_dpr(m, sizeof(m), &node, 100, 101, AKV_DIA_DISC_REBOOTING);
	ck_assert_int_eq(fx_msg(&c, m, n, &s, out, &olen), AKV_PROTO_CLOSE);
	ck_assert_int_eq(akv_dia_parse_result(out, olen, &h, &r), 0);
	ck_assert_uint_eq(h.cmd, 282);
	ck_assert_uint_eq(r.result_code, 2001);
}
END_TEST

START_TEST(t_dia_peer_watchdog)
{
	struct akv_dia_conn c;
	struct akv_test_slot s;
	uint8_t out[AKV_PROTO_OUT_MAX], dwa[512];
	size_t olen;
	struct akv_dia_hdr h;
	struct akv_dia_error err;
	struct akv_dia_wr w;
	int n;

	fx_conn(&c, NULL);
	/* Silent before CER: closed after AKV_DIA_CER_TIMEOUT_S ticks. */
	for (unsigned i = 1; i < AKV_DIA_CER_TIMEOUT_S; i++)
		ck_assert_int_eq(akv_dia_ops.on_idle(&c, i * 1000, 0, out, sizeof(out), &olen),
				 AKV_PROTO_REPLY);
	ck_assert_int_eq(akv_dia_ops.on_idle(&c, 10000, 0, out, sizeof(out), &olen),
			 AKV_PROTO_CLOSE);

	fx_conn(&c, NULL);
	fx_open(&c);
	ck_assert_int_eq(akv_dia_ops.on_idle(&c, 1000, 1000, out, sizeof(out), &olen),
			 AKV_PROTO_REPLY);
	ck_assert_uint_eq(olen, 0);
	/* Tw of silence: we send a DWR (RFC 3539 §3.4.1). */
	ck_assert_int_eq(akv_dia_ops.on_idle(&c, AKV_DIA_TW_MS, 1000, out, sizeof(out), &olen),
			 AKV_PROTO_REPLY);
	ck_assert_uint_gt(olen, 20);
	ck_assert_int_eq(akv_dia_check(out, olen, &h, &err), 0);
	ck_assert_uint_eq(err.result_code, 0);
	ck_assert_uint_eq(h.cmd, 280);
	ck_assert_uint_eq(h.flags, AKV_DIA_F_REQ);
	/* Its DWA clears the watchdog. */
	akv_dia_wr_init(&w, dwa, sizeof(dwa));
	akv_dia_wr_hdr(&w, 0, 280, 0, h.hbh, h.e2e);
	akv_dia_put_u32(&w, AKV_DIA_AVP_RESULT_CODE, 0, 2001);
	akv_dia_put_str(&w, AKV_DIA_AVP_ORIGIN_HOST, 0, "scscf.ims.test");
	akv_dia_put_str(&w, AKV_DIA_AVP_ORIGIN_REALM, 0, "ims.test");
	n = akv_dia_wr_finish(&w);
	ck_assert_int_eq(fx_msg(&c, dwa, (size_t)n, &s, out, &olen), AKV_PROTO_REPLY);
	ck_assert_uint_eq(olen, 0);
	ck_assert_uint_eq(c.dwr_pending, 0);
	/* A second DWR that stays unanswered for Tw: the peer is dead. */
	ck_assert_int_eq(akv_dia_ops.on_idle(&c, AKV_DIA_TW_MS, 0, out, sizeof(out), &olen),
			 AKV_PROTO_REPLY);
	ck_assert_uint_gt(olen, 0);
	ck_assert_int_eq(akv_dia_ops.on_idle(&c, AKV_DIA_TW_MS + 5000, 0, out, sizeof(out), &olen),
			 AKV_PROTO_REPLY);
	ck_assert_uint_eq(olen, 0);
	ck_assert_int_eq(akv_dia_ops.on_idle(&c, 2 * AKV_DIA_TW_MS, 0, out, sizeof(out), &olen),
			 AKV_PROTO_CLOSE);
}
END_TEST

/* A malformed message with a broken header inside an open conn is answered
 * (3008, E bit); one whose framing is lost closes. */
START_TEST(t_dia_peer_malformed)
{
	struct akv_dia_conn c;
	struct akv_test_slot s;
	uint8_t m[512], out[AKV_PROTO_OUT_MAX];
	size_t n, olen;
	struct akv_dia_hdr h;
	struct akv_dia_result r;
	uint64_t malformed;

	fx_conn(&c, NULL);
	fx_open(&c);
	malformed = akv_dia_totals.malformed;
	n = mk_req(m, sizeof(m), AKV_DIA_F_REQ | 0x02, 280, 0, NULL, 0);
	ck_assert_int_eq(fx_msg(&c, m, n, &s, out, &olen), AKV_PROTO_REPLY);
	ck_assert_int_eq(akv_dia_parse_result(out, olen, &h, &r), 0);
	ck_assert_uint_eq(r.result_code, AKV_DIA_INVALID_HDR_BITS);
	ck_assert_uint_eq(h.flags & AKV_DIA_F_ERR, AKV_DIA_F_ERR);
	wr32(m, 0x02000014);	/* version 2 */
	ck_assert_int_lt(akv_dia_ops.on_msg(&c, m, 20, &s.slot, out, sizeof(out), &olen), 0);
	ck_assert_uint_eq(akv_dia_totals.malformed - malformed, 2);
}
END_TEST

/* Random corruption of golden messages never crashes or over-reads (the
 * input sits against a guard page) and always gets a defined outcome. */
START_TEST(t_dia_mutations)
{
	static const char *const files[] = { "mar_kamailio.hex", "mar_resync.hex",
					     "sar_kamailio.hex", "kamailio_mar.hex",
					     "kamailio_sar.hex", "cer_kamailio.hex" };
	uint64_t seed = 0x5eed;
	uint8_t base[2048], m[2048], out[AKV_PROTO_OUT_MAX];

	for (size_t f = 0; f < 6; f++) {
		size_t n = fx_hex_load(files[f], base, sizeof(base));

		for (int it = 0; it < 3000; it++) {
			struct akv_dia_conn c;
			struct akv_test_slot s;
			struct akv_guard g = { 0 };
			const uint8_t *gm;
			size_t olen = 0, len = n;
			int flips = 1 + (int)(akv_test_rand64(&seed) % 4), rc;

			memcpy(m, base, n);
			for (int k = 0; k < flips; k++) {
				size_t at = 4 + akv_test_rand64(&seed) % (n - 4);

				m[at] = (uint8_t)akv_test_rand64(&seed);
			}
			if (akv_test_rand64(&seed) % 4 == 0)
				len = 20 + 4 * (akv_test_rand64(&seed) % ((n - 20) / 4));
			m[1] = (uint8_t)(len >> 16);
			m[2] = (uint8_t)(len >> 8);
			m[3] = (uint8_t)len;
			fx_conn(&c, NULL);
			if (f != 5)
				fx_open(&c);
			akv_test_slot_init(&s);
			gm = akv_guard_put(&g, m, len);
			rc = akv_dia_ops.on_msg(&c, gm, len, &s.slot, out, sizeof(out), &olen);
			akv_guard_free(&g);
			ck_assert(rc == AKV_PROTO_REPLY || rc == AKV_PROTO_CLOSE ||
				  rc == AKV_PROTO_DISPATCH || rc == AKV_EPROTO);
			if (olen) {
				struct akv_dia_hdr h;
				struct akv_dia_error err;

				/* everything we write is itself well-formed */
				ck_assert_int_eq(akv_dia_check(out, olen, &h, &err), 0);
				ck_assert_uint_eq(err.result_code, 0);
			}
		}
	}
}
END_TEST

static Suite *
dia_suite(void)
{
	Suite *s = suite_create("dia");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, t_dia_avp_table_sorted);
	tcase_add_test(tc, t_dia_frame_len);
	tcase_add_test(tc, t_dia_golden_mar);
	tcase_add_test(tc, t_dia_golden_cer_sar);
	tcase_add_test(tc, t_dia_captured_kamailio);
	tcase_add_test(tc, t_dia_roundtrip_types);
	tcase_add_test(tc, t_dia_err_hdr_bits);
	tcase_add_test(tc, t_dia_err_avp_bits);
	tcase_add_test(tc, t_dia_err_avp_length);
	tcase_add_test(tc, t_dia_err_grouped_length);
	tcase_add_test(tc, t_dia_err_msg_length);
	tcase_add_test(tc, t_dia_err_unknown_avp);
	tcase_add_test(tc, t_dia_err_invalid_value);
	tcase_add_test(tc, t_dia_err_nesting);
	tcase_add_test(tc, t_dia_missing_example);
	tcase_add_test(tc, t_dia_idx_matches_walk);
	tcase_add_test(tc, t_dia_idx_hostile);
	tcase_add_test(tc, t_dia_memo_matches_walk);
	tcase_add_test(tc, t_dia_value_words);
	tcase_add_test(tc, t_dia_copy_short);
	suite_add_tcase(s, tc);
	tc = tcase_create("peer");
	tcase_add_test(tc, t_dia_peer_before_cer);
	tcase_add_test(tc, t_dia_peer_cea);
	tcase_add_test(tc, t_dia_peer_cer_rejects);
	tcase_add_test(tc, t_dia_peer_dwr_dpr);
	tcase_add_test(tc, t_dia_peer_watchdog);
	tcase_add_test(tc, t_dia_peer_malformed);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, t_dia_mutations);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return akv_test_run(dia_suite());
}
