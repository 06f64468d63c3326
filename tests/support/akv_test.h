/* akv_test.h - helpers shared by the Check unit tests. */
#ifndef AKV_TESTS_SUPPORT_TEST_H
#define AKV_TESTS_SUPPORT_TEST_H

#include <stddef.h>
#include <stdint.h>

/* Path of a file under tests/vectors (AKV_VECTORS_DIR from ctest), static buffer. */
const char *akv_test_vector_path(const char *name);
/* Reads the hex golden tests/vectors/<name> (e.g. "dia/cer.hex") into out:
 * whitespace and '#' comments are ignored; every line must hold whole bytes
 * of valid hex and the total must fit cap, or the calling test fails.
 * Returns the number of bytes. */
size_t akv_test_load_hex(const char *name, uint8_t *out, size_t cap);
/* Deterministic PRNG for generated inputs (xorshift64*), not for secrets. */
uint64_t akv_test_rand64(uint64_t *state);
void akv_test_fill(uint64_t *state, uint8_t *out, size_t n);
/* 1 when all n bytes at p are zero (wiped buffers, empty answers) */
int akv_test_all_zero(const void *p, size_t n);
/* Makes a fresh empty temporary directory (mkdtemp under TMPDIR), static buffer. */
const char *akv_test_tmpdir(const char *tag);
/* Runs a Check suite; returns the process exit status (0 all passed). */
struct Suite;
int akv_test_run(struct Suite *s);
/* Runs a Check suite as akv_test_run() does, with TMPDIR pointing to a fresh
 * directory made by akv_test_tmpdir(tag) and removed afterwards with all the
 * tests left in it (their stores). Returns the process exit status. */
int akv_test_run_tmpdir(struct Suite *s, const char *tag);

#endif
