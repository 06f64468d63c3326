/*
 * load_echo.c - the echo baseline's protocol for `load` (frames in echo.h):
 * every transaction is one request of cfg->req_size bytes asking for a
 * cfg->reply_size-byte answer, which must come back with its id and size.
 */
#include "load.h"

#include "echo.h"
#include "err.h"

static int
echo_start(struct load_thread *t, struct load_slot *s, uint64_t id, uint8_t *out, size_t cap)
{
	(void)s;
	if (t->cfg->req_size > cap)
		return AKV_EINVAL;
	return akv_echo_req_encode(out, t->cfg->req_size, id, t->cfg->reply_size);
}

static int
echo_answer_id(const uint8_t *f, size_t len, uint64_t *id)
{
	uint64_t v = 0;

	if (len < AKV_ECHO_HDR_LEN || f[4] != 1 || f[5] != AKV_ECHO_OP_ANS)
		return AKV_EPROTO;
	for (int i = 8; i < 16; i++)
		v = v << 8 | f[i];
	*id = v;
	return 0;
}

static int
echo_answer(struct load_thread *t, struct load_slot *s, uint64_t id, const uint8_t *f, size_t len,
	    uint8_t *out, size_t cap)
{
	(void)s, (void)id, (void)f, (void)out, (void)cap;
	if (len != t->cfg->reply_size)
		t->c.err_check++; /* the answer must have the size we asked for */
	return 0;
}

const struct load_proto load_proto_echo = {
    .name = "echo",
    .frame_len = akv_echo_frame_len,
    .start = echo_start,
    .answer_id = echo_answer_id,
    .answer = echo_answer,
};
