/*
 * tickd api: the HTTP API over the segment and the journal.
 *
 * A follower that never gates: it maps the segment read-only (but for the
 * control ring), follows the bar and signal logs anonymously for its index
 * (api/index.h), and answers on one libwebsockets event loop (api/server.h) from the
 * live state, the bar history, that index and the journal.
 *
 *   attach -> open the index, start it -> serve
 *   on SIGTERM/SIGINT: stop serving (requests in flight finish), detach
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "api/cmd.h"
#include "api/server.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/err.h"
#include "common/msg.h"
#include "common/opts.h"

#ifndef TK_TICKD_VERSION
#define TK_TICKD_VERSION "0"
#endif
#ifndef TK_WEB_DIR
#define TK_WEB_DIR "/usr/share/tickd/web"
#endif

static volatile sig_atomic_t tka__stop;

static void tka__on_signal(int sig)
{
	(void)sig;
	tka__stop = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tickd api [options]\n"
		"Serve quotes, bars, indicators, signals and history over HTTP from the\n"
		"segment's live state and bar history and from the journal.  A reader that\n"
		"never slows the engine.  The endpoints are in the README and in\n"
		"GET /openapi.json.\n\n"
		"  --listen HOST:PORT    address (env TICKD_API_LISTEN; default 127.0.0.1:8000)\n"
		"  --max-connections N   open connections at most (default 4096): one event loop\n"
		"                        serves them all; an idle one costs a descriptor\n"
		"  --keep-alive D        idle keep-alive connections are closed after D (30s;\n"
		"                        whole seconds)\n"
		"  --tls-cert FILE       serve https:// with this PEM certificate (and --tls-key)\n"
		"  --tls-key FILE        its PEM private key\n"
		"  --ws-max-clients N    /ws and /ws/finnhub connections at most (default 2000)\n"
		"  --ws-max-per-address N  of them from one client address (default 100; 0: no\n"
		"                        limit; loopback clients are not limited)\n"
		"  --ws-max-lag N        records a stream client may fall behind on a log before\n"
		"                        it is conflated and told the gap (default 65536)\n"
		"  --data-dir DIR        the journal, for history older than the rings\n"
		"                        (env TICKD_DATA_DIR; default ./tickd-data; \"\": none)\n"
		"  --health-max-age D    /health is 503 when a feed is silent this long (10s)\n"
		"  --health-max-lag N    ... or an engine worker this many records behind (100000)\n"
		"  --default-limit N     rows of /ohlcv and /indicators without limit= (500)\n"
		"  --portfolio FILE      the simulated portfolio (default <data-dir>/portfolio.json)\n"
		"  --portfolio-cash X    a new portfolio's cash (default 100000)\n"
		"  --rate-limit R        requests a second per client address (default 100, 0 off;\n"
		"                        env TICKD_API_RATE_LIMIT); 429 with Retry-After beyond\n"
		"  --rate-burst B        requests at once (default 200)\n"
		"  --rate-limit-loopback limit loopback clients too (exempt by default)\n"
		"  --nice N              scheduling niceness of the API's threads (default 10: below\n"
		"                        the engine's; 0 keeps the caller's)\n"
		"  --web-dir DIR         openapi.json, the /docs and /redoc pages and their npm\n"
		"                        packages (env TICKD_WEB_DIR; default this build's api/web)\n"
		"  TICKD_API_TOKEN       (environment or [api] token, never a flag) writes need\n"
		"                        Authorization: Bearer <token>\n"
		"  --shm-path PATH       the segment (env TICKD_SHM_PATH)\n");
}

int tk_cmd_api(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, 0, 'l' },     { "max-connections", required_argument, 0, 't' },
		{ "keep-alive", required_argument, 0, 'k' }, { "data-dir", required_argument, 0, 'J' },
		{ "health-max-age", required_argument, 0, 'a' },
		{ "health-max-lag", required_argument, 0, 'g' },
		{ "default-limit", required_argument, 0, 'L' },
		{ "token", required_argument, 0, 'T' }, /* only from the file or the environment */
		{ "portfolio", required_argument, 0, 'P' },
		{ "portfolio-cash", required_argument, 0, 'C' },
		{ "rate-limit", required_argument, 0, 'r' },  { "rate-burst", required_argument, 0, 'b' },
		{ "rate-limit-loopback", no_argument, 0, 'B' },
		{ "web-dir", required_argument, 0, 'W' },
		{ "nice", required_argument, 0, 'n' },
		{ "tls-cert", required_argument, 0, 'S' },  { "tls-key", required_argument, 0, 'K' },
		{ "ws-max-clients", required_argument, 0, 'w' },
		{ "ws-max-per-address", required_argument, 0, 'A' },
		{ "ws-max-lag", required_argument, 0, 'G' },
		{ "shm-path", required_argument, 0, 'p' },   { "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 }
	};
	static struct tka_ctx ctx;
	static struct tka_portfolio portfolio;
	const char *portfolio_path = NULL;
	double cash = 100000, rate = 100, burst = 200;
	bool rate_loopback = false;
	const char *web_dir = TK_WEB_DIR;
	int nice_level = 10;
	char pbuf[1024];
	struct tka_server_opts so = { .listen = "127.0.0.1:8000", .max_connections = 4096,
				      .ws_max_clients = 2000, .ws_max_per_address = 100, .ws_max_lag = 65536,
				      .keep_alive_ns = 30 * 1000000000LL };
	const char *path = NULL;
	struct tka_server *srv;
	int c, rc;

	tk_config_args(longopts, &argc, &argv);
	optind = 1;
	ctx.data_dir = "tickd-data";
	ctx.health_max_age_ns = 10 * 1000000000LL;
	ctx.health_max_lag = 100000;
	ctx.default_limit = 500;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': so.listen = optarg; break;
		case 't':
			so.max_connections = (unsigned)tk_opt_u64("--max-connections", optarg, 4, 1000000);
			break;
		case 'S': so.tls_cert = optarg; break;
		case 'w':
			so.ws_max_clients = (unsigned)tk_opt_u64("--ws-max-clients", optarg, 1, 1000000);
			break;
		case 'A':
			so.ws_max_per_address = (unsigned)tk_opt_u64("--ws-max-per-address", optarg, 0, 1000000);
			break;
		case 'G': so.ws_max_lag = tk_opt_u64("--ws-max-lag", optarg, 16, UINT64_MAX); break;
		case 'K': so.tls_key = optarg; break;
		case 'k': so.keep_alive_ns = tk_opt_duration("--keep-alive", optarg); break;
		case 'J': ctx.data_dir = optarg; break;
		case 'a': ctx.health_max_age_ns = tk_opt_duration("--health-max-age", optarg); break;
		case 'g': ctx.health_max_lag = tk_opt_u64("--health-max-lag", optarg, 1, UINT64_MAX); break;
		case 'L':
			ctx.default_limit = tk_opt_u64("--default-limit", optarg, 1, TKA_LIMIT_MAX);
			break;
		case 'p': path = optarg; break;
		case 'T': ctx.token = optarg[0] != '\0' ? optarg : NULL; break;
		case 'P': portfolio_path = optarg; break;
		case 'C': cash = tk_opt_double("--portfolio-cash", optarg, 0, 1e15); break;
		case 'r': rate = tk_opt_double("--rate-limit", optarg, 0, 1e9); break;
		case 'b': burst = tk_opt_double("--rate-burst", optarg, 1, 1e9); break;
		case 'B': rate_loopback = true; break;
		case 'W': web_dir = optarg; break;
		case 'n': nice_level = (int)tk_opt_u64("--nice", optarg, 0, 19); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (strchr(so.listen, ':') == NULL)
		tk_opt_fail("--listen", "'%s' is not HOST:PORT (like 127.0.0.1:8000)", so.listen);
	if (so.keep_alive_ns < 1000000000LL)
		tk_opt_fail("--keep-alive", "at least 1s");
	if ((so.tls_cert == NULL) != (so.tls_key == NULL))
		tk_opt_fail(so.tls_cert == NULL ? "--tls-key" : "--tls-cert",
			    "needs %s too", so.tls_cert == NULL ? "--tls-cert" : "--tls-key");
	tk_msg_set_role("api");
	/* Below the engine, the feed and the journal: on a host whose cores a
	 * thousand server threads share with them, a busy API takes what they
	 * leave (its threads inherit this). */
	if (nice_level > 0 && setpriority(PRIO_PROCESS, 0, nice_level) != 0)
		tk_warn("api: cannot lower its priority to nice %d: %s", nice_level, strerror(errno));
	ctx.listen = so.listen;
	ctx.started_ns = tk_wall_ns();
	rc = tk_segment_attach(&ctx.seg, path, TK_ATTACH_READER);
	if (rc < 0) {
		tk_error("%s", tk_err_msg());
		return 1;
	}
	if (portfolio_path == NULL) {
		snprintf(pbuf, sizeof(pbuf), "%s/portfolio.json", ctx.data_dir[0] != '\0' ? ctx.data_dir : ".");
		portfolio_path = pbuf;
		if (ctx.data_dir[0] != '\0')
			mkdir(ctx.data_dir, 0755); /* tickd persist makes it too; whoever is first */
	}
	/* Another API keeping this portfolio (a predecessor still exiting, a
	 * second one by mistake): serve the rest meanwhile (the portfolio's
	 * endpoints answer 503), and take it once it is let go. */
	rc = tka_portfolio_open(&portfolio, portfolio_path, cash);
	if (rc == -EBUSY) {
		tk_warn("%s; serving the rest, and taking it once it is let go", tk_err_msg());
		ctx.portfolio_path = portfolio_path;
	} else if (rc < 0) {
		tk_error("%s", tk_err_msg());
		tk_segment_detach(&ctx.seg);
		return 1;
	} else {
		ctx.portfolio = &portfolio;
	}
	tka_metrics_open(&ctx);
	tka_assets_load(web_dir);
	if (tka_limiter_init(&ctx.limiter, rate, burst, rate_loopback) < 0) {
		tk_error("api: out of memory");
		return 1;
	}
	rc = tka_index_open(&ctx.index, &ctx.seg);
	if (rc == 0)
		rc = tka_index_start(&ctx.index);
	if (rc < 0) {
		tk_error("%s", tk_err_msg());
		tk_segment_detach(&ctx.seg);
		return 1;
	}
	if (so.tls_cert != NULL && tka_tls_check(so.tls_cert, so.tls_key) < 0) {
		tk_error("%s", tk_err_msg());
		tka_index_close(&ctx.index);
		if (ctx.portfolio != NULL)
			tka_portfolio_close(&portfolio);
		tk_segment_detach(&ctx.seg);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, tka__on_signal);
	signal(SIGTERM, tka__on_signal);
	/* An address in use (another API, a test) must not stop tickd run's
	 * engine: keep trying, and say so now and then. */
	{
		int64_t said = 0;

		while ((srv = tka_server_start(&ctx, &so)) == NULL && !tka__stop) {
			if (said == 0 || tk_mono_ns() - said > 30 * 1000000000LL) {
				tk_warn("%s; trying again every second", tk_err_msg());
				said = tk_mono_ns();
			}
			tk_sleep_ns(1000000000LL);
		}
	}
	if (srv != NULL)
		tk_info("serving %s://%s, %u connections at most (segment %s, journal %s)",
			so.tls_cert != NULL ? "https" : "http", so.listen, so.max_connections, ctx.seg.path, ctx.data_dir[0] != '\0' ? ctx.data_dir : "none");
	for (unsigned beat = 0; !tka__stop; beat++) {
		tka_publish(&ctx);
		if (ctx.portfolio == NULL && ctx.portfolio_path != NULL && beat % 4 == 0) {
			rc = tka_portfolio_open(&portfolio, portfolio_path, cash);
			if (rc == 0) {
				tk_info("portfolio %s: taken", portfolio_path);
				__atomic_store_n(&ctx.portfolio, &portfolio, __ATOMIC_RELEASE);
			} else if (rc != -EBUSY) {
				tk_error("%s (the portfolio's endpoints answer 503)", tk_err_msg());
				ctx.portfolio_path = NULL;
			}
		}
		tk_sleep_ns(50 * 1000000LL);
	}
	tka_server_stop(srv);
	tka_index_close(&ctx.index);
	if (ctx.portfolio != NULL)
		tka_portfolio_close(&portfolio);
	tk_segment_detach(&ctx.seg);
	tk_info("stopped");
	return 0;
}
