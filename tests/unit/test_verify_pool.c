/* The pending-challenge pool (aka/verify.h) at its cap: a new challenge on
 * a full list reuses the oldest entry in place (no free, no alloc), wiped
 * first; lowering and raising the cap; expiry of reused entries; the ring
 * links of every list; freed slots all zero; and many lists sharing one pool
 * against a plain model. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "akv_test.h"
#include "aka/verify.h"

#define MODEL_MAX 256

struct model {
	uint64_t tag[MODEL_MAX]; /* newest first */
	uint64_t exp[MODEL_MAX];
	unsigned n;
};

static void
tag_rand(uint64_t tag, uint8_t rand[16])
{
	memset(rand, 0x5a, 16);
	memcpy(rand, &tag, sizeof(tag));
}

/* Fills e as the engine does, with secrets derived from the tag. */
static void
fill(struct akv_pend *e, uint64_t tag)
{
	tag_rand(tag, e->rand);
	memset(e->xres, (int)(0x10 | (tag & 0xf)), 8);
	e->xres_len = 8;
	memset(e->ck, (int)(0x20 | (tag & 0xf)), 16);
	memset(e->ik, (int)(0x30 | (tag & 0xf)), 16);
}

/* The ring of l: n entries, each owned by l, links consistent both ways,
 * newest to oldest equal to the model; returns nothing, fails the test. */
static void
check_list(const struct akv_pend_pool *p, const struct akv_pend_list *l, const struct model *m)
{
	uint32_t i = l->head;
	unsigned k = 0;

	ck_assert_uint_eq(l->n, m->n);
	if (m->n == 0) {
		ck_assert_uint_eq(l->head, AKV_PEND_NIL);
		return;
	}
	ck_assert_uint_eq(p->v[l->head].newer, l->tail);
	ck_assert_uint_eq(p->v[l->tail].older, l->head);
	for (; i != AKV_PEND_NIL; i = akv_pend_next_older(p, l, i), k++) {
		const struct akv_pend *e = &p->v[i];
		uint8_t want[16];

		ck_assert_msg(k < m->n, "list longer than its model");
		ck_assert_uint_lt(i, p->cap);
		ck_assert_ptr_eq(e->owner, l);
		ck_assert_uint_eq(p->v[e->older].newer, i);
		ck_assert_uint_eq(p->v[e->newer].older, i);
		tag_rand(m->tag[k], want);
		ck_assert_mem_eq(e->rand, want, 16);
		ck_assert_uint_eq(e->expires_ms, m->exp[k]);
	}
	ck_assert_uint_eq(k, m->n);
}

/* Every slot not owned by a list is all zero (freed entries are wiped). */
static void
check_free_slots_zero(const struct akv_pend_pool *p)
{
	uint32_t free_slots = 0;

	for (uint32_t i = 0; i < p->cap; i++) {
		if (p->v[i].owner)
			continue;
		free_slots++;
		ck_assert_msg(akv_test_all_zero(&p->v[i], sizeof(p->v[i])), "free slot %u not wiped", i);
	}
	ck_assert_uint_eq(free_slots, p->cap - p->live);
	ck_assert_uint_eq(p->nfree, p->cap - p->live);
}

static void
model_add(struct model *m, uint64_t tag, uint64_t exp, unsigned cap)
{
	if (cap < 1)
		cap = 1;
	if (cap > 255)
		cap = 255;
	memmove(&m->tag[1], &m->tag[0], m->n * sizeof(m->tag[0]));
	memmove(&m->exp[1], &m->exp[0], m->n * sizeof(m->exp[0]));
	m->tag[0] = tag;
	m->exp[0] = exp;
	m->n++;
	if (m->n > cap)
		m->n = cap; /* the oldest go */
}

static void
model_remove(struct model *m, unsigned k)
{
	memmove(&m->tag[k], &m->tag[k + 1], (m->n - k - 1) * sizeof(m->tag[0]));
	memmove(&m->exp[k], &m->exp[k + 1], (m->n - k - 1) * sizeof(m->exp[0]));
	m->n--;
}

START_TEST(t_pool_full_list_reuses_oldest_in_place)
{
	struct akv_pend_pool p;
	struct akv_pend_list l = AKV_PEND_LIST_INIT, other = AKV_PEND_LIST_INIT;
	struct model m = {.n = 0}, mo = {.n = 0};
	struct akv_pend *e;
	uint32_t slot[4], live, nfree;
	uint64_t tag = 1;

	akv_pend_pool_init(&p);
	for (int i = 0; i < 4; i++, tag++) {
		e = akv_pend_add(&p, &l, 4, 100 + tag);
		fill(e, tag);
		slot[i] = (uint32_t)(e - p.v);
		model_add(&m, tag, 100 + tag, 4);
		/* another IMPI interleaved: its entries sit between ours */
		fill(akv_pend_add(&p, &other, 2, 500 + tag), 1000 + tag);
		model_add(&mo, 1000 + tag, 500 + tag, 2);
	}
	check_list(&p, &l, &m);
	check_list(&p, &other, &mo);
	live = p.live;
	nfree = p.nfree;
	/* full: each new challenge takes the oldest one's slot, in order, and
	 * comes back wiped (no RAND, XRES, CK or IK of the old challenge) */
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 4; i++, tag++) {
			e = akv_pend_add(&p, &l, 4, 100 + tag);
			ck_assert_uint_eq((uint32_t)(e - p.v), slot[i]);
			ck_assert_ptr_eq(e->owner, &l);
			ck_assert_uint_eq(e->expires_ms, 100 + tag);
			ck_assert(akv_test_all_zero(e->rand, 16));
			ck_assert(akv_test_all_zero(e->xres, 16));
			ck_assert(akv_test_all_zero(e->ck, 16));
			ck_assert(akv_test_all_zero(e->ik, 16));
			ck_assert_uint_eq(e->xres_len, 0);
			fill(e, tag);
			model_add(&m, tag, 100 + tag, 4);
			check_list(&p, &l, &m);
			check_list(&p, &other, &mo);
			ck_assert_uint_eq(p.live, live);
			ck_assert_uint_eq(p.nfree, nfree);
		}
	}
	/* the four newest are found by RAND, every replaced one is gone */
	for (uint64_t t = 1; t < tag; t++) {
		uint8_t r[16];

		tag_rand(t, r);
		e = akv_pend_find(&p, &l, r, 0);
		if (t >= tag - 4) {
			ck_assert_ptr_nonnull(e);
			ck_assert_uint_eq(e->ck[0], 0x20 | (t & 0xf));
		} else {
			ck_assert_ptr_null(e);
		}
	}
	/* a cap of 1 on a full list keeps only the new one */
	e = akv_pend_add(&p, &other, 1, 900);
	fill(e, 77);
	model_add(&mo, 77, 900, 1);
	check_list(&p, &other, &mo);
	e = akv_pend_add(&p, &other, 1, 901);	/* rotation of a ring of one */
	ck_assert(akv_test_all_zero(e->ck, 16));
	fill(e, 78);
	model_add(&mo, 78, 901, 1);
	check_list(&p, &other, &mo);
	check_free_slots_zero(&p);
	akv_pend_clear(&p, &l);
	akv_pend_clear(&p, &other);
	ck_assert_uint_eq(p.live, 0);
	check_free_slots_zero(&p);
	akv_pend_pool_fini(&p);
}
END_TEST

START_TEST(t_pool_cap_lowered_and_raised)
{
	struct akv_pend_pool p;
	struct akv_pend_list l = AKV_PEND_LIST_INIT;
	struct model m = {.n = 0};
	uint64_t tag = 1;

	akv_pend_pool_init(&p);
	for (; tag <= 6; tag++) {
		fill(akv_pend_add(&p, &l, 6, tag), tag);
		model_add(&m, tag, tag, 6);
	}
	check_list(&p, &l, &m);
	/* lowered to 3: the new one and the two newest stay, four slots freed */
	fill(akv_pend_add(&p, &l, 3, tag), tag);
	model_add(&m, tag, tag, 3);
	tag++;
	check_list(&p, &l, &m);
	ck_assert_uint_eq(p.live, 3);
	check_free_slots_zero(&p);
	/* raised to 5: grows to 5, then reuses */
	for (int i = 0; i < 4; i++, tag++) {
		fill(akv_pend_add(&p, &l, 5, tag), tag);
		model_add(&m, tag, tag, 5);
		check_list(&p, &l, &m);
	}
	ck_assert_uint_eq(p.live, 5);
	/* out-of-range caps: 0 acts as 1, above 255 as 255 */
	fill(akv_pend_add(&p, &l, 0, tag), tag);
	model_add(&m, tag, tag, 1);
	tag++;
	check_list(&p, &l, &m);
	ck_assert_uint_eq(p.live, 1);
	for (int i = 0; i < 300; i++, tag++) {
		fill(akv_pend_add(&p, &l, 100000, tag), tag);
		model_add(&m, tag, tag, 100000);
	}
	check_list(&p, &l, &m);
	ck_assert_uint_eq(l.n, 255);
	check_free_slots_zero(&p);
	akv_pend_clear(&p, &l);
	akv_pend_pool_fini(&p);
}
END_TEST

START_TEST(t_pool_expiry_of_reused_entries)
{
	struct akv_pend_pool p;
	struct akv_pend_list l = AKV_PEND_LIST_INIT;
	struct model m = {.n = 0};
	uint8_t r[16];

	akv_pend_pool_init(&p);
	for (uint64_t t = 1; t <= 3; t++) {
		fill(akv_pend_add(&p, &l, 3, 110 + t), t);
		model_add(&m, t, 110 + t, 3);
	}
	/* full: challenge 4 (expires 150) reuses challenge 1's slot (111) */
	fill(akv_pend_add(&p, &l, 3, 150), 4);
	model_add(&m, 4, 150, 3);
	check_list(&p, &l, &m);
	/* at 112 only challenge 2 has expired: the reused slot carries 150 */
	ck_assert_uint_eq(akv_pend_expire(&p, 112, SIZE_MAX), 1);
	model_remove(&m, 2);
	check_list(&p, &l, &m);
	tag_rand(4, r);
	ck_assert_ptr_nonnull(akv_pend_find(&p, &l, r, 140));
	/* a lookup after expiry frees what it finds */
	tag_rand(3, r);
	ck_assert_ptr_null(akv_pend_find(&p, &l, r, 113));
	model_remove(&m, 1);
	check_list(&p, &l, &m);
	check_free_slots_zero(&p);
	/* below the cap again: the next two take free slots, then reuse */
	fill(akv_pend_add(&p, &l, 3, 160), 5);
	model_add(&m, 5, 160, 3);
	fill(akv_pend_add(&p, &l, 3, 170), 6);
	model_add(&m, 6, 170, 3);
	ck_assert_uint_eq(p.live, 3);
	fill(akv_pend_add(&p, &l, 3, 180), 7);	/* reuses challenge 4's slot */
	model_add(&m, 7, 180, 3);
	check_list(&p, &l, &m);
	ck_assert_uint_eq(p.live, 3);
	tag_rand(4, r);
	ck_assert_ptr_null(akv_pend_find(&p, &l, r, 0));
	/* the newest has expired: latest() drops the whole list */
	ck_assert_ptr_nonnull(akv_pend_latest(&p, &l, 179));
	ck_assert_ptr_null(akv_pend_latest(&p, &l, 180));
	ck_assert_uint_eq(l.n, 0);
	ck_assert_uint_eq(p.live, 0);
	check_free_slots_zero(&p);
	akv_pend_pool_fini(&p);
}
END_TEST

/* Many IMPIs sharing one pool, most at their cap, under random adds,
 * deletes, clears and expiry sweeps, against the model. */
#define NLISTS 3000
#define STEPS 200000

static struct akv_pend_list lists[NLISTS];
static struct model models[NLISTS];

START_TEST(t_pool_many_lists_match_model)
{
	struct akv_pend_pool p;
	uint64_t rng = 0x726f7461u, tag = 1, now = 1000;

	akv_pend_pool_init(&p);
	for (unsigned j = 0; j < NLISTS; j++) {
		lists[j] = (struct akv_pend_list)AKV_PEND_LIST_INIT;
		models[j].n = 0;
	}
	for (unsigned step = 0; step < STEPS; step++) {
		uint64_t r = akv_test_rand64(&rng);
		unsigned j = (unsigned)(r % NLISTS), what = (unsigned)(r >> 12) % 1000;
		struct model *m = &models[j];
		uint8_t rand[16];

		if (what < 850) {
			/* mostly the default cap 8; a few lists change theirs */
			unsigned cap = j % 50 ? 8 : 1 + (unsigned)(r >> 24) % 12;
			uint64_t exp = now + 2000 + (r >> 32) % 64;	/* ~one TTL */

			fill(akv_pend_add(&p, &lists[j], cap, exp), tag);
			model_add(m, tag++, exp, cap);
		} else if (what < 950) {
			unsigned k;
			struct akv_pend *e;

			if (!m->n)
				continue;
			k = (unsigned)(r >> 24) % m->n;
			tag_rand(m->tag[k], rand);
			e = akv_pend_find(&p, &lists[j], rand, now);
			if (m->exp[k] > now) {
				ck_assert_ptr_nonnull(e);
				akv_pend_del(&p, e);
			} else {
				ck_assert_ptr_null(e);
			}
			model_remove(m, k);
		} else if (what < 995) {
			akv_pend_clear(&p, &lists[j]);
			m->n = 0;
		} else {
			/* time passes; sweep everything expired */
			now += (r >> 24) % 40;
			akv_pend_expire(&p, now, SIZE_MAX);
			for (unsigned jj = 0; jj < NLISTS; jj++)
				for (unsigned k = models[jj].n; k-- > 0;)
					if (models[jj].exp[k] <= now)
						model_remove(&models[jj], k);
		}
		check_list(&p, &lists[j], m);
		if (step % 20000 == 0) {
			unsigned live = 0;

			for (unsigned jj = 0; jj < NLISTS; jj++) {
				check_list(&p, &lists[jj], &models[jj]);
				live += models[jj].n;
			}
			ck_assert_uint_eq(p.live, live);
			check_free_slots_zero(&p);
		}
	}
	for (unsigned j = 0; j < NLISTS; j++)
		akv_pend_clear(&p, &lists[j]);
	ck_assert_uint_eq(p.live, 0);
	check_free_slots_zero(&p);
	akv_pend_pool_fini(&p);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("verify_pool");
	TCase *tc = tcase_create("pool");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, t_pool_full_list_reuses_oldest_in_place);
	tcase_add_test(tc, t_pool_cap_lowered_and_raised);
	tcase_add_test(tc, t_pool_expiry_of_reused_entries);
	tcase_add_test(tc, t_pool_many_lists_match_model);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return akv_test_run(suite());
}
