/*
 * fuzz_dia.c - libFuzzer target for the Diameter decoder and peer/Cx state
 * machine. The input is a byte stream cut into messages by akv_dia_ops'
 * frame_len, as the front end would; byte 0 picks whether the connection
 * starts open (a CER already accepted) so Cx parsing is reached directly.
 * Dispatched requests get a synthetic engine answer (no store here) and are
 * encoded; everything akavs writes must pass akv_dia_check cleanly. The
 * client-side parsers (CEA/MAA) see every message too. Once the conn has
 * learned a MAR plan (dia_peer.h), each message also runs on a twin conn
 * without it: both must act, answer, fill the slot and encode alike.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aka/cx.h"
#include "aka/cx_pending.h"
#include "core/err.h"
#include "proto/dia.h"
#include "proto/dia_peer.h"
#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
must_be_clean(const uint8_t *out, size_t n)
{
	struct akv_dia_hdr h;
	struct akv_dia_error err;

	if (!n)
		return;
	if (akv_dia_check(out, n, &h, &err) < 0 || err.result_code)
		abort();
}

/* A plausible engine result for a dispatched request, derived from input. */
static void
fake_engine(struct akv_eng_req *r, struct akv_cx_req *cx, uint8_t sel)
{
	static const int errs[] = { 0, AKV_EUNKNOWN_USER, AKV_EIMPU_MISMATCH, AKV_ESCHEME,
				    AKV_EAUTS_MAC, AKV_ESTORE };

	r->err = errs[sel % 6];
	r->nvec = r->err ? 0 : (r->n > AKV_VEC_MAX ? AKV_VEC_MAX : r->n);
	for (unsigned i = 0; i < r->nvec; i++) {
		memset(&r->vec[i], (int)(i + sel), sizeof(r->vec[i]));
		r->vec[i].xres_len = 8;
	}
	r->scheme_used = (uint8_t)(sel & 3);
	if (r->op == AKV_OP_SAR)
		akv_cx_sar_apply((enum akv_cx_state)(sel % 3), "sip:s", 5, cx);
	else if (r->op == AKV_OP_UAR)
		akv_cx_uar_apply((enum akv_cx_state)(sel % 3), "sip:s", 5, cx);
	else if (r->op == AKV_OP_LIR)
		akv_cx_lir_apply((enum akv_cx_state)(sel % 3), "", 0, (int)(sel >> 2) & 1, cx);
	if (cx->want_user_data && r->impu_len) {
		memcpy(cx->impus, r->impu, r->impu_len);
		cx->impus[r->impu_len] = '\0';
		cx->nimpus = 1;
	}
}

/* The general path's twin of one message: conn g (c without its MAR plan)
 * and its own slot. */
static struct akv_dia_conn g;
static struct akv_eng_req g_req;
static struct akv_eng_vec g_vec[AKV_VEC_MAX];
static struct akv_cx_req g_cx;
static uint8_t g_ctx[AKV_PROTO_CTX_MAX], g_out[AKV_PROTO_OUT_MAX];

static int
twin_msg(const struct akv_dia_conn *c, const uint8_t *msg, size_t n, size_t *olen)
{
	struct akv_proto_slot slot = { &g_req, g_vec, NULL, &g_cx, g_ctx };

	memcpy(&g, c, sizeof(g));
	g.mar.tpl.nseg = 0;
	memset(&g_req, 0, sizeof(g_req));
	memset(&g_cx, 0, sizeof(g_cx));
	memset(g_ctx, 0, sizeof(g_ctx));
	g_req.vec = g_vec;
	*olen = 0;
	return akv_dia_ops.on_msg(&g, msg, n, &slot, g_out, sizeof(g_out), olen);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct akv_dia_conn c;
	static struct akv_eng_req req;
	static struct akv_eng_vec vec[AKV_VEC_MAX];
	static struct akv_eng_digest dig;
	static struct akv_cx_req cx;
	static uint8_t ctx[AKV_PROTO_CTX_MAX], out[AKV_PROTO_OUT_MAX];
	struct akv_proto_conn_info info = { .cfg = NULL, .ind = 3 };
	struct akv_proto_slot slot = { &req, vec, &dig, &cx, ctx };
	size_t olen, golen = 0;
	int twin, grc = 0;

	if (size < 1)
		return 0;
	strcpy(info.peer_addr, "127.0.0.1:1");
	akv_dia_ops.conn_init(&c, &info, out, sizeof(out), &olen);
	/* MARs intern their Server-Name (cx_pending.h): one memo for the run,
	 * its 64 names soon taken, after which new ones intern as 0 */
	{
		static struct akv_cx_pending *memo;

		if (!memo)
			memo = akv_cx_pending_new(1024, AKV_CX_PENDING_TTL_MS);
		c.pending = memo;
	}
	if (data[0] & 1)
		c.state = AKV_DIA_OPEN;
	data++;
	size--;
	while (size > 0) {
		int n = akv_dia_ops.frame_len(data, size), rc;

		if (n < 0 || (size_t)n > size)
			break;
		{
			struct akv_dia_hdr h;
			struct akv_dia_result res;
			struct akv_dia_maa_item items[4];
			unsigned ni;

			akv_dia_parse_maa(data, (size_t)n, &h, &res, items, 4, &ni);
		}
		memset(&req, 0, sizeof(req));
		memset(&cx, 0, sizeof(cx));
		memset(ctx, 0, sizeof(ctx));
		req.vec = vec;
		twin = c.mar.tpl.nseg ? 1 : 0;
		if (twin)
			grc = twin_msg(&c, data, (size_t)n, &golen);
		olen = 0;
		rc = akv_dia_ops.on_msg(&c, data, (size_t)n, &slot, out, sizeof(out), &olen);
		must_be_clean(out, olen);
		if (twin && (rc != grc || olen != golen || memcmp(out, g_out, olen) ||
			     (rc == AKV_PROTO_DISPATCH &&
			      (memcmp(&req, &g_req, offsetof(struct akv_eng_req, digest)) ||
			       memcmp(ctx, g_ctx, sizeof(ctx))))))
			abort();
		if (rc == AKV_PROTO_DISPATCH) {
			int len;

			fake_engine(&req, &cx, data[(size_t)n - 1]);
			len = akv_dia_ops.encode(&c, &slot, out, sizeof(out));
			if (len < 0 && len != AKV_ETOOBIG)
				abort();
			if (len > 0)
				must_be_clean(out, (size_t)len);
			if (twin) {
				struct akv_proto_slot gs = { &g_req, g_vec, NULL, &g_cx, g_ctx };

				fake_engine(&g_req, &g_cx, data[(size_t)n - 1]);
				if (akv_dia_ops.encode(&g, &gs, g_out, sizeof(g_out)) != len ||
				    (len > 0 && memcmp(out, g_out, (size_t)len)))
					abort();
			}
		}
		if (rc < 0 || rc == AKV_PROTO_CLOSE)
			break;
		data += n;
		size -= (size_t)n;
	}
	olen = 0;
	akv_dia_ops.on_idle(&c, 40000, 0, out, sizeof(out), &olen);
	must_be_clean(out, olen);
	akv_dia_ops.conn_fini(&c);
	return 0;
}
