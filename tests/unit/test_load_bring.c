/*
 * test_load_bring.c - the frame splitter of akavs-bench's io_uring plumbing
 * (akv_bring_feed, bench/tool/bring.c), which both the load generator and
 * the echo baseline read every byte through: a stream of frames cut into
 * buffers at arbitrary points must come out as the same frames in order,
 * whole, once each; bad and oversized lengths must stop the feed.
 * The file under test is compiled in (it is part of akavs-bench).
 */
#include <check.h>
#include <string.h>

#include "../../bench/tool/bring.c"
#include "akv_test.h"

/* Test frames: a 2-byte big-endian length (header included, >= 3). */
static int
t_frame_len(const uint8_t *buf, size_t len)
{
	unsigned fl;

	if (len < 2)
		return AKV_EPARTIAL;
	fl = (unsigned)buf[0] << 8 | buf[1];
	return fl < 3 ? AKV_EPROTO : (int)fl;
}

struct sink {
	uint8_t out[1 << 20];
	size_t len;
	unsigned frames;
	int stop_at; /* frame number whose handler fails, -1 never */
};

static int
t_on_frame(void *arg, const uint8_t *f, size_t len)
{
	struct sink *k = arg;

	ck_assert_int_eq(t_frame_len(f, len), (int)len);
	if ((int)k->frames == k->stop_at)
		return -1234;
	ck_assert_uint_le(k->len + len, sizeof(k->out));
	memcpy(k->out + k->len, f, len);
	k->len += len;
	k->frames++;
	return 0;
}

static size_t
mk_stream(uint8_t *s, size_t cap, unsigned nframes, unsigned maxlen, uint64_t *rng)
{
	size_t len = 0;

	for (unsigned i = 0; i < nframes; i++) {
		unsigned fl = 3 + (unsigned)(akv_test_rand64(rng) % (maxlen - 2));

		ck_assert_uint_le(len + fl, cap);
		s[len] = (uint8_t)(fl >> 8);
		s[len + 1] = (uint8_t)fl;
		akv_test_fill(rng, s + len + 2, fl - 2);
		len += fl;
	}
	return len;
}

START_TEST(t_feed_any_split)
{
	static uint8_t stream[1 << 19];
	static struct sink k;
	uint64_t rng = 0x62726e67;

	for (unsigned round = 0; round < 48; round++) {
		/* small frames (several per buffer) and large ones (several buffers each) */
		unsigned maxlen = round & 1 ? 40 : 3000;
		size_t len = mk_stream(stream, sizeof(stream), 200, maxlen, &rng), off = 0;
		struct akv_bring_rx rx = {0};

		k.len = 0;
		k.frames = 0;
		k.stop_at = -1;
		while (off < len) {
			/* 1..1024 bytes: every split point, header split included */
			size_t n = 1 + akv_test_rand64(&rng) % (round % 3 ? 1024 : 7);

			if (n > len - off)
				n = len - off;
			ck_assert_int_eq(akv_bring_feed(&rx, stream + off, n, t_frame_len, t_on_frame,
							&k, 4096),
					 0);
			off += n;
		}
		ck_assert_uint_eq(k.frames, 200);
		ck_assert_uint_eq(k.len, len);
		ck_assert_mem_eq(k.out, stream, len);
		ck_assert_uint_eq(rx.len, 0);
		akv_bring_rx_free(&rx);
	}
}
END_TEST

START_TEST(t_feed_refuses)
{
	static struct sink k;
	struct akv_bring_rx rx = {0};
	uint8_t big[4] = {0x10, 0x01, 0, 0}; /* 4097 > max 4096 */
	uint8_t bad[4] = {0x00, 0x02, 0, 0}; /* below the header */
	uint8_t two[6] = {0x00, 0x03, 7, 0x00, 0x03, 8};

	memset(&k, 0, sizeof(k));
	k.stop_at = -1;
	/* whole or split, an oversized frame stops the feed */
	ck_assert_int_eq(akv_bring_feed(&rx, big, 4, t_frame_len, t_on_frame, &k, 4096),
			 AKV_ETOOBIG);
	akv_bring_rx_free(&rx);
	ck_assert_int_eq(akv_bring_feed(&rx, big, 1, t_frame_len, t_on_frame, &k, 4096), 0);
	ck_assert_int_eq(akv_bring_feed(&rx, big + 1, 3, t_frame_len, t_on_frame, &k, 4096),
			 AKV_ETOOBIG);
	akv_bring_rx_free(&rx);
	ck_assert_int_eq(akv_bring_feed(&rx, bad, 1, t_frame_len, t_on_frame, &k, 4096), 0);
	ck_assert_int_eq(akv_bring_feed(&rx, bad + 1, 3, t_frame_len, t_on_frame, &k, 4096),
			 AKV_EPROTO);
	akv_bring_rx_free(&rx);
	ck_assert_uint_eq(k.frames, 0);
	/* a handler's error is returned; the frames before it were delivered */
	k.stop_at = 1;
	ck_assert_int_eq(akv_bring_feed(&rx, two, 4, t_frame_len, t_on_frame, &k, 4096), 0);
	ck_assert_int_eq(akv_bring_feed(&rx, two + 4, 2, t_frame_len, t_on_frame, &k, 4096), -1234);
	ck_assert_uint_eq(k.frames, 1);
	akv_bring_rx_free(&rx);
}
END_TEST

static Suite *
bring_suite(void)
{
	Suite *s = suite_create("load_bring");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, t_feed_any_split);
	tcase_add_test(tc, t_feed_refuses);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return akv_test_run(bring_suite());
}
