/*
 * dia_fixture.h - helpers of the Diameter tests (test_dia.c, test_dia_cx.c):
 * golden .hex loading, running one message through akv_dia_ops, and small
 * AVP constructors for hostile inputs. Static functions only.
 */
#ifndef AKV_TESTS_UNIT_DIA_FIXTURE_H
#define AKV_TESTS_UNIT_DIA_FIXTURE_H

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "akv_test.h"
#include "aka/cx.h"
#include "aka/eng.h"
#include "core/cfg.h"
#include "err.h"
#include "guard.h"
#include "proto/dia.h"
#include "proto/dia_peer.h"
#include "proto/proto.h"
#include "slot.h"

/* Reads tests/vectors/dia/<name>: hex bytes, '#' comments. Returns length. */
static inline size_t
fx_hex_load(const char *name, uint8_t *out, size_t cap)
{
	char path[512];

	snprintf(path, sizeof(path), "dia/%s", name);
	return akv_test_load_hex(path, out, cap);
}

/* A conn with cfg (may be NULL), peer address 127.0.0.1:40000. */
static inline void
fx_conn(struct akv_dia_conn *c, const struct akv_cfg *cfg)
{
	struct akv_proto_conn_info info = { .cfg = cfg, .ind = -1 };
	uint8_t out[16];
	size_t olen = 99;

	snprintf(info.peer_addr, sizeof(info.peer_addr), "127.0.0.1:40000");
	ck_assert_int_eq(akv_dia_ops.conn_init(c, &info, out, sizeof(out), &olen), 0);
	ck_assert_uint_eq(olen, 0);
}

/* Runs one message (copied against a guard page) through on_msg. */
static inline int
fx_msg(struct akv_dia_conn *c, const uint8_t *m, size_t n, struct akv_test_slot *s, uint8_t *out,
       size_t *olen)
{
	struct akv_guard g = { 0 };
	const uint8_t *gm = akv_guard_put(&g, m, n);
	int rc;

	akv_test_slot_init(s);
	ck_assert_int_eq(akv_dia_ops.frame_len(gm, n), (int)n);
	rc = akv_dia_ops.on_msg(c, gm, n, &s->slot, out, AKV_PROTO_OUT_MAX, olen);
	akv_guard_free(&g);
	return rc;
}

/* Sends the golden CER so the conn is open. */
static inline void
fx_open(struct akv_dia_conn *c)
{
	uint8_t cer[1024], out[AKV_PROTO_OUT_MAX];
	size_t n = fx_hex_load("cer_kamailio.hex", cer, sizeof(cer)), olen = 0;
	struct akv_test_slot s;
	struct akv_dia_hdr h;
	struct akv_dia_result r;

	ck_assert_int_eq(fx_msg(c, cer, n, &s, out, &olen), AKV_PROTO_REPLY);
	ck_assert_int_eq(akv_dia_parse_result(out, olen, &h, &r), 0);
	ck_assert_uint_eq(r.result_code, AKV_DIA_SUCCESS);
	ck_assert_uint_eq(c->state, AKV_DIA_OPEN);
}

/* Failed-AVP of an answer: returns 1 and the inner AVP. */
static inline int
fx_failed_avp(const uint8_t *msg, size_t len, struct akv_dia_avp *inner)
{
	struct akv_dia_avp f;
	struct akv_dia_it it;

	if (!akv_dia_find(msg + AKV_DIA_HDR_LEN, len - AKV_DIA_HDR_LEN, AKV_DIA_AVP_FAILED_AVP, 0,
			  &f))
		return 0;
	akv_dia_it_init(&it, f.data, f.len);
	return akv_dia_it_next(&it, inner) == 1;
}

#endif
