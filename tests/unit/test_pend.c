/* The pending-challenge pool (aka/verify.h) against a plain model: random
 * adds with a per-IMPI cap (the oldest dropped), deletes of any entry,
 * clears and expiry sweeps, over many IMPI lists sharing one pool. After
 * every step each list, walked from its head, must hold exactly the model's
 * entries, newest first, and the pool must count them. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "akv_test.h"
#include "aka/verify.h"

#define NLISTS 16
#define MODEL_MAX 256 /* >= the largest cap used, 255 */
#define STEPS 30000

struct model {
	uint64_t tag[MODEL_MAX]; /* newest first */
	uint64_t exp[MODEL_MAX];
	unsigned n;
};

static struct akv_pend_pool pool;
static struct akv_pend_list lists[NLISTS];
static struct model models[NLISTS];

static void
tag_rand(uint64_t tag, uint8_t rand[16])
{
	memset(rand, 0xa5, 16);
	memcpy(rand, &tag, sizeof(tag));
}

static void
model_remove(struct model *m, unsigned k)
{
	memmove(&m->tag[k], &m->tag[k + 1], (m->n - k - 1) * sizeof(m->tag[0]));
	memmove(&m->exp[k], &m->exp[k + 1], (m->n - k - 1) * sizeof(m->exp[0]));
	m->n--;
}

/* Every list walked from its head equals its model; the pool counts all. */
static void
check_all(unsigned step)
{
	unsigned live = 0;

	for (unsigned j = 0; j < NLISTS; j++) {
		const struct model *m = &models[j];
		uint32_t i = lists[j].head;
		unsigned k = 0;

		ck_assert_msg(lists[j].n == m->n, "step %u list %u: n %u, model %u", step, j,
			      (unsigned)lists[j].n, m->n);
		for (; i != AKV_PEND_NIL; i = akv_pend_next_older(&pool, &lists[j], i), k++) {
			uint8_t want[16];

			ck_assert_msg(k < m->n, "step %u list %u: longer than its model", step, j);
			tag_rand(m->tag[k], want);
			ck_assert_msg(!memcmp(pool.v[i].rand, want, 16) && pool.v[i].owner == &lists[j],
				      "step %u list %u: entry %u differs from the model", step, j, k);
			ck_assert_uint_eq(pool.v[i].expires_ms, m->exp[k]);
		}
		ck_assert_msg(k == m->n, "step %u list %u: %u linked, model %u", step, j, k, m->n);
		live += m->n;
	}
	ck_assert_uint_eq(pool.live, live);
}

START_TEST(t_pend_random_ops_match_model)
{
	uint64_t rng = 0x70656e64u, next_tag = 1, now = 1000;

	akv_pend_pool_init(&pool);
	for (unsigned j = 0; j < NLISTS; j++) {
		lists[j] = (struct akv_pend_list)AKV_PEND_LIST_INIT;
		models[j].n = 0;
	}
	for (unsigned step = 0; step < STEPS; step++) {
		uint64_t r = akv_test_rand64(&rng);
		unsigned j = (unsigned)(r % NLISTS), what = (unsigned)(r >> 8) % 100;
		struct model *m = &models[j];
		uint8_t rand[16];

		if (what < 70) {
			/* add; lists 0..3 use a big cap, the rest 1..8 */
			unsigned cap = j < 4 ? 255 : 1 + (unsigned)(r >> 16) % 8;
			uint64_t exp = now + 1 + (r >> 24) % 5000;
			struct akv_pend *e;

			if ((r >> 40) & 1) {
				e = akv_pend_add(&pool, &lists[j], cap, exp);
				tag_rand(next_tag, e->rand);
			} else {
				/* the engine's CHALLENGE path: same links */
				static const uint8_t xres[8], ck[16], ik[16];

				tag_rand(next_tag, rand);
				akv_pend_add_challenge(&pool, &lists[j], cap, exp, rand, xres, ck,
						       ik);
			}
			memmove(&m->tag[1], &m->tag[0], m->n * sizeof(m->tag[0]));
			memmove(&m->exp[1], &m->exp[0], m->n * sizeof(m->exp[0]));
			m->tag[0] = next_tag++;
			m->exp[0] = exp;
			m->n++;
			while (m->n > cap)
				m->n--; /* the oldest go */
		} else if (what < 90) {
			/* delete any entry, found by its RAND */
			unsigned k;
			struct akv_pend *e;

			if (!m->n)
				continue;
			k = (unsigned)(r >> 16) % m->n;
			tag_rand(m->tag[k], rand);
			e = akv_pend_find(&pool, &lists[j], rand, now);
			if (m->exp[k] > now) {
				ck_assert_ptr_nonnull(e);
				akv_pend_del(&pool, e);
			} else {
				ck_assert_ptr_null(e); /* expired: find freed it */
			}
			model_remove(m, k);
		} else if (what < 93) {
			akv_pend_clear(&pool, &lists[j]);
			m->n = 0;
		} else if (what < 96) {
			/* latest: the newest if live, else the whole list goes */
			struct akv_pend *e = akv_pend_latest(&pool, &lists[j], now);

			if (m->n && m->exp[0] > now) {
				tag_rand(m->tag[0], rand);
				ck_assert_ptr_nonnull(e);
				ck_assert_mem_eq(e->rand, rand, 16);
			} else {
				ck_assert_ptr_null(e);
				m->n = 0;
			}
		} else {
			/* time passes; sweep everything expired */
			now += (r >> 16) % 700;
			akv_pend_expire(&pool, now, SIZE_MAX);
			for (unsigned jj = 0; jj < NLISTS; jj++)
				for (unsigned k = models[jj].n; k-- > 0;)
					if (models[jj].exp[k] <= now)
						model_remove(&models[jj], k);
		}
		check_all(step);
	}
	for (unsigned j = 0; j < NLISTS; j++)
		akv_pend_clear(&pool, &lists[j]);
	ck_assert_uint_eq(pool.live, 0);
	akv_pend_pool_fini(&pool);
}
END_TEST

/* akv_pend_add_challenge writes the whole payload: on a fresh slot and on
 * the replaced oldest entry of a full list (whose XRES was 16 bytes of 0xff
 * and must not survive past the new 8), the entry holds exactly the given
 * RAND, XRES (then zeros), CK, IK, is the newest, and is found by RAND. */
START_TEST(t_pend_add_challenge_overwrites_payload)
{
	struct akv_pend_list l = AKV_PEND_LIST_INIT;
	uint8_t rand[16], xres[8], ck[16], ik[16], zero[8] = {0};
	struct akv_pend *e;

	akv_pend_pool_init(&pool);
	for (unsigned round = 0; round < 4; round++) {
		/* rounds 0, 1: fresh slots; 2, 3: the list (cap 2) is full */
		if (round < 2) {
			e = akv_pend_add(&pool, &l, 2, 50);
			memset(e->rand, 0xff, 16);
			memset(e->xres, 0xff, 16);
			e->xres_len = 16;
			memset(e->ck, 0xff, 16);
			memset(e->ik, 0xff, 16);
			akv_pend_del(&pool, e);
		}
		memset(rand, 0x10 + (int)round, 16);
		memset(xres, 0x20 + (int)round, 8);
		memset(ck, 0x30 + (int)round, 16);
		memset(ik, 0x40 + (int)round, 16);
		if (round >= 2) {
			/* make the oldest entry hold long secrets to overwrite */
			e = &pool.v[l.tail];
			memset(e->xres, 0xff, 16);
			e->xres_len = 16;
		}
		akv_pend_add_challenge(&pool, &l, 2, 100 + round, rand, xres, ck, ik);
		ck_assert_uint_eq(l.n, round < 2 ? round + 1 : 2);
		e = &pool.v[l.head];
		ck_assert_mem_eq(e->rand, rand, 16);
		ck_assert_mem_eq(e->xres, xres, 8);
		ck_assert_mem_eq(e->xres + 8, zero, 8);
		ck_assert_uint_eq(e->xres_len, 8);
		ck_assert_mem_eq(e->ck, ck, 16);
		ck_assert_mem_eq(e->ik, ik, 16);
		ck_assert_uint_eq(e->expires_ms, 100 + round);
		ck_assert_ptr_eq(e->owner, &l);
		ck_assert_ptr_eq(akv_pend_find(&pool, &l, rand, 99), e);
	}
	akv_pend_clear(&pool, &l);
	ck_assert_uint_eq(pool.live, 0);
	akv_pend_pool_fini(&pool);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("pend");
	TCase *tc = tcase_create("model");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, t_pend_random_ops_match_model);
	tcase_add_test(tc, t_pend_add_challenge_overwrites_payload);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return akv_test_run(suite());
}
