/*
 * fuzz_avs1.c - libFuzzer target for the AVS/1 codec (docs/PROTOCOL.md).
 *
 * The input is a byte stream as a peer would send it. Server side: frames are
 * cut with frame_len, run through on_msg, dispatched requests get a fake
 * engine answer (shape drawn from the frame) and go through encode; every
 * answer the server writes must decode with the client decoder and echo the
 * request id; a dispatched request must be the one the request decoder
 * reads (on_msg checks the common requests itself, ahead of the decoder's
 * rules), and every identity request the decoder accepts without the WWW
 * flag must be dispatched. Client side: each frame is also fed to the
 * request and answer decoders; whatever decodes must re-encode to the same
 * bytes.
 * Each frame is copied into its own exact-size heap block so ASan sees any
 * read past its end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "proto/avs1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct slot_mem {
	struct akv_eng_req req;
	struct akv_eng_vec vec[AKV_VEC_MAX];
	struct akv_eng_digest digest;
	uint8_t ctx[AKV_PROTO_CTX_MAX];
};

static struct akv_avs1_ans ans;
static struct akv_avs1_req dec;
static uint8_t out[AKV_PROTO_OUT_MAX];
static uint8_t re[AKV_AVS1_FRAME_MAX];

static void
check(int cond)
{
	if (!cond)
		abort();
}

/* A worker's answer, its shape chosen by the frame's last byte. */
static void
fake_engine(struct akv_eng_req *q, uint8_t sel)
{
	static const int errs[] = {
	    AKV_EUNKNOWN_USER, AKV_ENO_CHALLENGE, AKV_EAUTS_MAC, AKV_EBAD_N, -12, AKV_EBUSY};

	if (sel < 16) {
		q->err = errs[sel % (sizeof(errs) / sizeof(errs[0]))];
		return;
	}
	q->verdict = sel % 3;
	q->attempts_left = sel >> 4;
	q->scheme_used = (uint8_t)(1 + (sel & 1));
	q->nvec = q->op == AKV_OP_VERIFY ? 1 : (uint16_t)(q->n - (sel % 7 < q->n ? sel % 7 : 0));
	for (unsigned i = 0; i < AKV_VEC_MAX; i++) {
		memset(&q->vec[i], (int)(sel + i), sizeof(q->vec[i]));
		q->vec[i].xres_len = (uint8_t)(4 + (sel + i) % 13);
	}
}

/* on_msg's verdict and request against the request decoder's. */
static void
same_as_decoder(const uint8_t *frame, size_t len, int rc, const struct akv_eng_req *q)
{
	int ok = akv_avs1_req_decode(frame, len, &dec, NULL) == 0;

	if (rc != AKV_PROTO_DISPATCH) {
		check(!ok || (dec.op != AKV_AVS1_CHALLENGE && dec.op != AKV_AVS1_RESYNC &&
			      dec.op != AKV_AVS1_VECTORS) ||
		      (dec.flags & AKV_AVS1_F_WWW));
		return;
	}
	check(ok && q->op == dec.op);
	check(q->impi_len == dec.impi_len && !memcmp(q->impi, dec.impi, dec.impi_len));
	if (dec.op == AKV_AVS1_VERIFY)
		return;
	check(q->impu_len == dec.impu_len && !memcmp(q->impu, dec.impu, dec.impu_len));
	check(q->n == dec.n && q->scheme == dec.scheme);
}

static void
server_side(void *st, const uint8_t *frame, size_t len)
{
	static struct slot_mem m;
	struct akv_proto_slot slot;
	size_t ol = 0;
	int rc;

	memset(&m, 0, sizeof(m));
	m.req.vec = m.vec;
	slot.req = &m.req;
	slot.vec = m.vec;
	slot.digest = &m.digest;
	slot.cx = NULL;
	slot.ctx = m.ctx;
	rc = akv_avs1_ops.on_msg(st, frame, len, &slot, out, sizeof(out), &ol);
	check(rc == AKV_PROTO_REPLY || rc == AKV_PROTO_DISPATCH);
	same_as_decoder(frame, len, rc, &m.req);
	if (rc == AKV_PROTO_DISPATCH) {
		check(ol == 0);
		check(m.req.impi_len >= 1 && m.req.impi_len <= AKV_ID_MAX);
		check(m.req.impi[m.req.impi_len] == 0);
		check(m.req.op != AKV_OP_VERIFY || m.req.verify_kind != AKV_VERIFY_DIGEST ||
		      m.req.digest == slot.digest);
		fake_engine(&m.req, frame[len - 1]);
		rc = akv_avs1_ops.encode(st, &slot, out, sizeof(out));
		check(rc > 0);
		ol = (size_t)rc;
	}
	check(ol >= AKV_AVS1_HDR_LEN && ol <= sizeof(out));
	check(akv_avs1_frame_len(out, ol) == (int)ol);
	check(akv_avs1_ans_decode(out, ol, &ans, NULL) == 0);
	check(ans.id ==
	      ((uint64_t)frame[8] << 56 | (uint64_t)frame[9] << 48 | (uint64_t)frame[10] << 40 |
	       (uint64_t)frame[11] << 32 | (uint64_t)frame[12] << 24 | (uint64_t)frame[13] << 16 |
	       (uint64_t)frame[14] << 8 | frame[15]));
}

static void
decoders(const uint8_t *frame, size_t len)
{
	struct akv_avs1_req r;
	int n;

	if (akv_avs1_req_decode(frame, len, &r, NULL) == 0) {
		n = akv_avs1_req_encode(&r, re, sizeof(re));
		check(n == (int)len && !memcmp(re, frame, len));
	}
	if (akv_avs1_ans_decode(frame, len, &ans, NULL) == 0) {
		n = akv_avs1_ans_encode(&ans, re, sizeof(re));
		check(n == (int)len && !memcmp(re, frame, len));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t st_mem[8];
	struct akv_proto_conn_info info = {.ind = -1};
	size_t off = 0, ol = 0;

	check(akv_avs1_ops.conn_state_size <= sizeof(st_mem));
	akv_avs1_ops.conn_init(st_mem, &info, NULL, 0, &ol);
	/* the answer decoder also sees whatever the whole input is */
	if (size >= AKV_AVS1_HDR_LEN) {
		uint8_t *copy = malloc(size);

		memcpy(copy, data, size);
		decoders(copy, size);
		free(copy);
	}
	while (off < size) {
		int fl = akv_avs1_ops.frame_len(data + off, size - off);
		uint8_t *frame;

		if (fl < 0 || (size_t)fl > size - off)
			break; /* partial (wait for more) or framing lost (close) */
		check(fl >= AKV_AVS1_HDR_LEN);
		frame = malloc((size_t)fl);
		memcpy(frame, data + off, (size_t)fl);
		server_side(st_mem, frame, (size_t)fl);
		decoders(frame, (size_t)fl);
		free(frame);
		off += (size_t)fl;
	}
	return 0;
}
