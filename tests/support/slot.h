/*
 * slot.h - a request slot for the protocol tests (AVS/1, Diameter): the
 * storage a struct akv_proto_slot points into, as the front end provides it
 * to on_msg (server/proto/proto.h). Static functions only.
 */
#ifndef AKV_TESTS_SUPPORT_SLOT_H
#define AKV_TESTS_SUPPORT_SLOT_H

#include <stdint.h>
#include <string.h>

#include "aka/cx.h"
#include "aka/eng.h"
#include "proto/proto.h"

struct akv_test_slot {
	struct akv_eng_req req;
	struct akv_eng_vec vec[AKV_VEC_MAX];
	struct akv_eng_digest digest;
	struct akv_cx_req cx;
	uint8_t ctx[AKV_PROTO_CTX_MAX];
	struct akv_proto_slot slot;
};

/* Zeroes s and points s->slot (and s->req.vec) at its parts. */
static inline void
akv_test_slot_init(struct akv_test_slot *s)
{
	memset(s, 0, sizeof(*s));
	s->req.vec = s->vec;
	s->slot.req = &s->req;
	s->slot.vec = s->vec;
	s->slot.digest = &s->digest;
	s->slot.cx = &s->cx;
	s->slot.ctx = s->ctx;
}

#endif
