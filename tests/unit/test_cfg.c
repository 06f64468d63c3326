/* `akavs serve` configuration: defaults, INI file, flags over the file, and
 * error messages that name the file and line or the flag. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "akv_test.h"
#include "cfg.h"
#include "err.h"

static const char *
write_file(const char *text)
{
	static char path[1100];
	FILE *f;

	snprintf(path, sizeof(path), "%s/akavs.ini", akv_test_tmpdir("cfg"));
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static int
from_args(struct akv_cfg *cfg, char *err, const char *a0, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	const char *a;

	argv[argc++] = (char *)"serve";
	va_start(ap, a0);
	for (a = a0; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	err[0] = '\0';
	return akv_cfg_from_args(cfg, argc, argv, err, AKV_CFG_ERR_MAX);
}

START_TEST(t_cfg_defaults)
{
	struct akv_cfg c;
	char err[AKV_CFG_ERR_MAX];

	ck_assert_int_eq(from_args(&c, err, NULL), 0);
	ck_assert_str_eq(c.listen, "127.0.0.1:7430");
	ck_assert_uint_ge(c.workers, 1);
	ck_assert_uint_eq(c.ncpus, 0);
	ck_assert_uint_eq(c.eng.fail_limit, 3);
	ck_assert_uint_eq(c.eng.ind_bits, 5);
	ck_assert_int_eq(c.eng.cx_unreg_services, 1);
	ck_assert_uint_eq(c.dia.auth_pending_max, 1u << 18);
	ck_assert_str_eq(c.dia.listen, "");
	ck_assert_str_eq(c.config_path, "");
}
END_TEST

START_TEST(t_cfg_file_then_flags)
{
	struct akv_cfg c;
	char err[AKV_CFG_ERR_MAX];
	const char *path = write_file("; comment\n"
				      "[server]\n"
				      "db = /tmp/x.db\n"
				      "listen = 127.0.0.1:9000\n"
				      "workers = 2\n"
				      "cpus = 0,1\n"
				      "max-conns = 50\n"
				      "[engine]\n"
				      "fail-limit = 5\n"
				      "max-vectors = 4\n"
				      "count-stale-as-fail = yes\n"
				      "[diameter]\n"
				      "listen = 127.0.0.1:3868\n"
				      "origin-host = hss.ims.test\n"
				      "origin-realm = ims.test\n"
				      "unregistered-services = no\n"
				      "auth-pending-max = 0\n"
				      "peer = scscf.ims.test 127.0.0.1 ind=3\n"
				      "peer = icscf.ims.test\n");

	/* --workers after the file wins over it; --config position does not matter */
	ck_assert_int_eq(
	    from_args(&c, err, "--workers", "1", "--config", path, "--fail-limit=4", NULL), 0);
	ck_assert_str_eq(c.config_path, path);
	ck_assert_str_eq(c.db_dir, "/tmp/x.db");
	ck_assert_str_eq(c.listen, "127.0.0.1:9000");
	ck_assert_uint_eq(c.workers, 1);
	ck_assert_uint_eq(c.ncpus, 2);
	ck_assert_uint_eq(c.cpus[1], 1);
	ck_assert_uint_eq(c.max_conns, 50);
	ck_assert_uint_eq(c.eng.fail_limit, 4);
	ck_assert_uint_eq(c.eng.max_vectors, 4);
	ck_assert_int_eq(c.eng.count_stale_as_fail, 1);
	ck_assert_int_eq(c.eng.cx_unreg_services, 0);
	ck_assert_uint_eq(c.dia.auth_pending_max, 0);
	ck_assert_str_eq(c.dia.listen, "127.0.0.1:3868");
	ck_assert_str_eq(c.dia.origin_host, "hss.ims.test");
	ck_assert_uint_eq(c.dia.npeers, 2);
	ck_assert_str_eq(c.dia.peers[0].addr, "127.0.0.1");
	ck_assert_int_eq(c.dia.peers[0].ind, 3);
	ck_assert_int_eq(c.dia.peers[1].ind, -1);
	ck_assert_int_eq(akv_cfg_peer_ind(&c, "scscf.ims.test", "127.0.0.1"), 3);
	ck_assert_int_eq(akv_cfg_peer_ind(&c, "SCSCF.ims.test", "127.0.0.1"), 3);
	ck_assert_int_eq(akv_cfg_peer_ind(&c, "scscf.ims.test", "10.0.0.1"), -1);
	ck_assert_int_eq(akv_cfg_peer_ind(&c, "icscf.ims.test", NULL), -1);
}
END_TEST

START_TEST(t_cfg_tls)
{
	struct akv_cfg c;
	char err[AKV_CFG_ERR_MAX];
	const char *path = write_file("[tls]\n"
				      "cert = /etc/akavs/server.pem\n"
				      "key = /etc/akavs/server.key\n"
				      "ca = /etc/akavs/clients-ca.pem\n"
				      "handshake-timeout-ms = 2000\n"
				      "[diameter]\n"
				      "tls-listen = 127.0.0.1:5658\n");

	/* defaults: TLS off, 5 s handshake bound */
	ck_assert_int_eq(from_args(&c, err, NULL), 0);
	ck_assert_str_eq(c.tls.cert, "");
	ck_assert_str_eq(c.tls.ca, "");
	ck_assert_str_eq(c.dia.tls_listen, "");
	ck_assert_uint_eq(c.tls.handshake_ms, 5000);

	/* the file, then flags over it */
	ck_assert_int_eq(from_args(&c, err, "--config", path, "--tls-key", "/k2", NULL), 0);
	ck_assert_str_eq(c.tls.cert, "/etc/akavs/server.pem");
	ck_assert_str_eq(c.tls.key, "/k2");
	ck_assert_str_eq(c.tls.ca, "/etc/akavs/clients-ca.pem");
	ck_assert_uint_eq(c.tls.handshake_ms, 2000);
	ck_assert_str_eq(c.dia.tls_listen, "127.0.0.1:5658");

	/* flags alone, server-auth only */
	ck_assert_int_eq(from_args(&c, err, "--tls-cert=/c", "--tls-key", "/k", NULL), 0);
	ck_assert_str_eq(c.tls.cert, "/c");
	ck_assert_str_eq(c.tls.ca, "");

	/* half a configuration is refused, naming what is missing */
	ck_assert_int_eq(from_args(&c, err, "--tls-cert", "/c", NULL), AKV_EINVAL);
	ck_assert_msg(strstr(err, "cert and key"), "got '%s'", err);
	ck_assert_int_eq(from_args(&c, err, "--tls-key", "/k", NULL), AKV_EINVAL);
	ck_assert_msg(strstr(err, "cert and key"), "got '%s'", err);
	ck_assert_int_eq(from_args(&c, err, "--tls-ca", "/ca", NULL), AKV_EINVAL);
	ck_assert_msg(strstr(err, "ca needs"), "got '%s'", err);
	ck_assert_int_eq(from_args(&c, err, "--diameter-tls-listen", "127.0.0.1:5658", NULL),
			 AKV_EINVAL);
	ck_assert_msg(strstr(err, "tls-listen needs"), "got '%s'", err);
	ck_assert_int_eq(from_args(&c, err, "--tls-cert", "/c", "--tls-key", "/k",
				   "--diameter-tls-listen", "nowhere", NULL),
			 AKV_EINVAL);
	ck_assert_msg(strstr(err, "not HOST:PORT"), "got '%s'", err);
	ck_assert_int_eq(from_args(&c, err, "--tls-handshake-timeout-ms", "5", NULL), AKV_EINVAL);
	ck_assert_msg(strstr(err, "--tls-handshake-timeout-ms"), "got '%s'", err);

	/* a TLS-only Diameter listener is a listener */
	ck_assert_int_eq(from_args(&c, err, "--listen", "", "--tls-cert", "/c", "--tls-key", "/k",
				   "--diameter-tls-listen", "127.0.0.1:5658", NULL),
			 0);

	/* unknown key in [tls] names the section */
	path = write_file("[tls]\ncertificate = /x\n");
	ck_assert_int_eq(from_args(&c, err, "--config", path, NULL), AKV_EINVAL);
	ck_assert_msg(strstr(err, "[tls]"), "got '%s'", err);
}
END_TEST

START_TEST(t_cfg_file_errors_name_the_line)
{
	struct akv_cfg c;
	char err[AKV_CFG_ERR_MAX];
	const char *path;
	char want[1200];

	path = write_file("[server]\nlisten = 127.0.0.1:1\n\nworkers = lots\n");
	ck_assert_int_eq(from_args(&c, err, "--config", path, NULL), AKV_EINVAL);
	snprintf(want, sizeof(want), "%s:4: ", path);
	ck_assert_msg(!strncmp(err, want, strlen(want)), "got '%s'", err);
	ck_assert_ptr_nonnull(strstr(err, "workers"));

	path = write_file("[server]\n[engine]\nfail-limitt = 3\n");
	ck_assert_int_eq(from_args(&c, err, "--config", path, NULL), AKV_EINVAL);
	snprintf(want, sizeof(want), "%s:3: unknown key 'fail-limitt'", path);
	ck_assert_msg(!strncmp(err, want, strlen(want)), "got '%s'", err);

	path = write_file("[server]\nthis is not ini\n");
	ck_assert_int_eq(from_args(&c, err, "--config", path, NULL), AKV_EINVAL);
	snprintf(want, sizeof(want), "%s:2: ", path);
	ck_assert_msg(!strncmp(err, want, strlen(want)), "got '%s'", err);

	/* the first error is the one reported */
	path = write_file("[server]\nmax-conns = 0\nworkers = x\n");
	ck_assert_int_eq(from_args(&c, err, "--config", path, NULL), AKV_EINVAL);
	snprintf(want, sizeof(want), "%s:2: ", path);
	ck_assert_msg(!strncmp(err, want, strlen(want)), "got '%s'", err);

	ck_assert_int_lt(from_args(&c, err, "--config", "/nonexistent/akavs.ini", NULL), 0);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/akavs.ini"));
}
END_TEST

START_TEST(t_cfg_flag_errors_name_the_flag)
{
	struct akv_cfg c;
	char err[AKV_CFG_ERR_MAX];

	ck_assert_int_eq(from_args(&c, err, "--workers", "0", NULL), AKV_EINVAL);
	ck_assert_msg(!strncmp(err, "--workers: ", 11), "got '%s'", err);
	ck_assert_int_eq(from_args(&c, err, "--listen", "nocolon", NULL), AKV_EINVAL);
	ck_assert_msg(strstr(err, "listen") != NULL, "got '%s'", err);
	ck_assert_int_eq(from_args(&c, err, "--listen", "127.0.0.1:99999", NULL), AKV_EINVAL);
	ck_assert_int_eq(from_args(&c, err, "--bogus", "1", NULL), AKV_EINVAL);
	ck_assert_msg(!strncmp(err, "--bogus: unknown option", 23), "got '%s'", err);
	ck_assert_int_eq(from_args(&c, err, "--db", NULL), AKV_EINVAL);
	ck_assert_str_eq(err, "--db: missing value");
	ck_assert_int_eq(from_args(&c, err, "--cpus", "3-1", NULL), AKV_EINVAL);
	ck_assert_msg(!strncmp(err, "--cpus: ", 8), "got '%s'", err);
	ck_assert_int_eq(
	    from_args(&c, err, "--max-inflight", "10", "--max-inflight-conn", "20", NULL),
	    AKV_EINVAL);
	ck_assert_int_eq(from_args(&c, err, "--max-vectors", "33", NULL), AKV_EINVAL);
	ck_assert_int_eq(from_args(&c, err, "--workers", "-1", NULL), AKV_EINVAL);
	ck_assert_int_eq(from_args(&c, err, "--peer", "a b c", NULL), AKV_EINVAL);
}
END_TEST

START_TEST(t_cfg_helpers)
{
	uint16_t cpus[8], port;
	char host[64];
	struct akv_cfg_peer p;

	ck_assert_int_eq(akv_cfg_parse_cpus("0,2-4,7", cpus, 8), 5);
	ck_assert_uint_eq(cpus[0], 0);
	ck_assert_uint_eq(cpus[3], 4);
	ck_assert_uint_eq(cpus[4], 7);
	ck_assert_int_eq(akv_cfg_parse_cpus("", cpus, 8), AKV_EINVAL);
	ck_assert_int_eq(akv_cfg_parse_cpus("1,", cpus, 8), 1);
	ck_assert_int_eq(akv_cfg_parse_cpus("0-100", cpus, 8), AKV_EINVAL);
	ck_assert_int_eq(akv_cfg_parse_cpus("a", cpus, 8), AKV_EINVAL);
	ck_assert_int_eq(akv_cfg_split_addr("[::1]:7430", host, sizeof(host), &port), 0);
	ck_assert_str_eq(host, "::1");
	ck_assert_uint_eq(port, 7430);
	ck_assert_int_eq(akv_cfg_split_addr("localhost:0", host, sizeof(host), &port), 0);
	ck_assert_int_eq(akv_cfg_split_addr("::1:7430", host, sizeof(host), &port), AKV_EINVAL);
	ck_assert_int_eq(akv_cfg_split_addr(":7430", host, sizeof(host), &port), AKV_EINVAL);
	ck_assert_int_eq(akv_cfg_split_addr("h:", host, sizeof(host), &port), AKV_EINVAL);
	ck_assert_int_eq(akv_cfg_parse_peer("* 10.0.0.2 ind=1", &p), 0);
	ck_assert_str_eq(p.host, "");
	ck_assert_str_eq(p.addr, "10.0.0.2");
	ck_assert_int_eq(p.ind, 1);
	ck_assert_int_eq(akv_cfg_parse_peer("h ind=x", &p), AKV_EINVAL);
	ck_assert_int_eq(akv_cfg_parse_peer("", &p), AKV_EINVAL);
}
END_TEST

/* The AVS/1 allow list: parsing (host bits must be zero), matching by
 * prefix for IPv4, IPv6 and IPv4-mapped IPv6, and file + flag values. */
static struct sockaddr_storage
sa_of(const char *ip)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		ck_assert_int_eq(inet_pton(AF_INET6, ip, &a->sin6_addr), 1);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		ck_assert_int_eq(inet_pton(AF_INET, ip, &a->sin_addr), 1);
	}
	return ss;
}

static int
allowed(const struct akv_cfg *c, const char *ip)
{
	struct sockaddr_storage ss = sa_of(ip);

	return akv_cfg_allowed(c, (const struct sockaddr *)&ss);
}

START_TEST(t_cfg_allow_list)
{
	static const char *const bad[] = {"", "/8", "10.0.0.0/", "10.0.0.0/33", "10.1.2.3/8",
					  "10.0.0.1/31", "::1/129", "2001:db8::1/32", "host",
					  "10.0.0.0/8x", "10.0.0.0/-1", "1.2.3.4.5"};
	struct akv_cfg_net n;
	struct akv_cfg c;
	char err[AKV_CFG_ERR_MAX];
	const char *path;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(akv_cfg_parse_net(bad[i], &n) == AKV_EINVAL, "'%s' accepted", bad[i]);
	ck_assert_int_eq(akv_cfg_parse_net("10.0.0.0/8", &n), 0);
	ck_assert_uint_eq(n.family, AF_INET);
	ck_assert_uint_eq(n.prefix, 8);
	ck_assert_int_eq(akv_cfg_parse_net("10.1.2.3", &n), 0);
	ck_assert_uint_eq(n.prefix, 32);
	ck_assert_int_eq(akv_cfg_parse_net("0.0.0.0/0", &n), 0);
	ck_assert_int_eq(akv_cfg_parse_net("2001:db8::/32", &n), 0);
	ck_assert_uint_eq(n.family, AF_INET6);
	ck_assert_int_eq(akv_cfg_parse_net("10.0.0.0/9", &n), 0);

	/* empty list: anyone */
	ck_assert_int_eq(from_args(&c, err, NULL), 0);
	ck_assert_uint_eq(c.nallow, 0);
	ck_assert_int_eq(allowed(&c, "192.0.2.1"), 1);

	path = write_file("[server]\nallow = 10.0.0.0/9, 192.0.2.7\nallow = 2001:db8::/32\n");
	ck_assert_int_eq(from_args(&c, err, "--config", path, "--allow", "127.0.0.1", NULL), 0);
	ck_assert_uint_eq(c.nallow, 4);
	ck_assert_int_eq(allowed(&c, "10.0.0.1"), 1);
	ck_assert_int_eq(allowed(&c, "10.127.255.255"), 1);
	ck_assert_int_eq(allowed(&c, "10.128.0.0"), 0); /* /9: the ninth bit counts */
	ck_assert_int_eq(allowed(&c, "11.0.0.1"), 0);
	ck_assert_int_eq(allowed(&c, "192.0.2.7"), 1);
	ck_assert_int_eq(allowed(&c, "192.0.2.8"), 0);
	ck_assert_int_eq(allowed(&c, "127.0.0.1"), 1);
	ck_assert_int_eq(allowed(&c, "127.0.0.2"), 0);
	ck_assert_int_eq(allowed(&c, "2001:db8:ffff::1"), 1);
	ck_assert_int_eq(allowed(&c, "2001:db9::1"), 0);
	ck_assert_int_eq(allowed(&c, "::ffff:10.0.0.1"), 1); /* v4-mapped counts as v4 */
	ck_assert_int_eq(allowed(&c, "::ffff:11.0.0.1"), 0);
	ck_assert_int_eq(allowed(&c, "::1"), 0);

	ck_assert_int_eq(from_args(&c, err, "--allow", "10.1.2.3/8", NULL), AKV_EINVAL);
	ck_assert_msg(!strncmp(err, "--allow: ", 9) && strstr(err, "10.1.2.3/8"), "got '%s'", err);
	ck_assert_int_eq(from_args(&c, err, "--allow", " , ", NULL), AKV_EINVAL);
	path = write_file("[server]\nallow = 10.0.0.0/8 nonsense\n");
	ck_assert_int_eq(from_args(&c, err, "--config", path, NULL), AKV_EINVAL);
	ck_assert_msg(strstr(err, ":2: ") && strstr(err, "nonsense"), "got '%s'", err);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("cfg");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, t_cfg_defaults);
	tcase_add_test(tc, t_cfg_file_then_flags);
	tcase_add_test(tc, t_cfg_tls);
	tcase_add_test(tc, t_cfg_file_errors_name_the_line);
	tcase_add_test(tc, t_cfg_flag_errors_name_the_flag);
	tcase_add_test(tc, t_cfg_helpers);
	tcase_add_test(tc, t_cfg_allow_list);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return akv_test_run_tmpdir(suite(), "test-cfg");
}
