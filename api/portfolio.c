/* The simulated portfolio: its file (portfolio.h) and its endpoints. */
#include "api/portfolio.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "api/api.h"
#include "api/body.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/json.h"
#include "shm/symbol.h"

#define TKA_SHARES_MAX 1e12
#define TKA_PRICE_MAX 1e9

/* ------------------------------------------------------------- the file */

static int tka__write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void tka__render_file(const struct tka_portfolio *p, struct tk_buf *b)
{
	unsigned i;

	tk_buf_puts(b, "{\"version\":1,\"initial_balance\":");
	tk_json_double(b, p->initial);
	tk_buf_puts(b, ",\"balance\":");
	tk_json_double(b, p->balance);
	tk_buf_puts(b, ",\"realized_gain\":");
	tk_json_double(b, p->realized);
	tk_buf_puts(b, ",\"changes\":");
	tk_buf_u64(b, p->changes);
	tk_buf_puts(b, "}\n");
	for (i = 0; i < p->n; i++) {
		tk_buf_puts(b, "{\"symbol\":");
		tk_json_str(b, p->pos[i].symbol, strlen(p->pos[i].symbol));
		tk_buf_puts(b, ",\"shares\":");
		tk_json_double(b, p->pos[i].shares);
		tk_buf_puts(b, ",\"buy_price\":");
		tk_json_double(b, p->pos[i].buy_price);
		tk_buf_puts(b, ",\"opened\":");
		tk_buf_i64(b, p->pos[i].opened_ms);
		tk_buf_puts(b, "}\n");
	}
}

int tka_portfolio_save(struct tka_portfolio *p)
{
	size_t cap = 256 + (size_t)p->n * 160;
	char *mem = malloc(cap), tmp[1100], dir[1024];
	struct tk_buf b;
	int fd, rc = 0;
	char *slash;

	if (mem == NULL)
		return tk_err_set(-ENOMEM, "portfolio: out of memory");
	tk_buf_init(&b, mem, cap);
	tka__render_file(p, &b);
	snprintf(tmp, sizeof(tmp), "%s.tmp", p->path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = tk_err_set(-errno, "portfolio: cannot write %s: %s", tmp, strerror(errno));
		free(mem);
		return rc;
	}
	rc = b.overflow ? -ENOMEM : tka__write_all(fd, mem, b.len);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	free(mem);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, p->path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return tk_err_set(rc, "portfolio: cannot write %s: %s", p->path, strerror(-rc));
	}
	/* The rename is durable once the directory is. */
	snprintf(dir, sizeof(dir), "%s", p->path);
	slash = strrchr(dir, '/');
	if (slash != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		return tk_err_set(rc, "portfolio: cannot sync the directory of %s: %s", p->path,
				  strerror(-rc));
	}
	close(fd);
	return 0;
}

static int tka__num_of(const struct tka_jobj *o, const char *name, double *v)
{
	const struct tka_jfield *f = tka_jget(o, name);

	if (f == NULL || f->type != TKA_J_NUM)
		return -EINVAL;
	*v = f->num;
	return 0;
}

int tka_portfolio_open(struct tka_portfolio *p, const char *path, double cash)
{
	static char scratch[4096];
	struct tka_jobj *o = malloc(sizeof(*o));
	char line[4096], why[256];
	unsigned lineno = 0;
	FILE *f;

	memset(p, 0, sizeof(*p));
	snprintf(p->path, sizeof(p->path), "%s.lock", path);
	p->lock_fd = open(p->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (p->lock_fd < 0) {
		free(o);
		return tk_err_set(-errno, "portfolio: cannot open %s: %s", p->path, strerror(errno));
	}
	/* The kernel drops the lock when this process dies, however it dies. */
	if (flock(p->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;

		close(p->lock_fd);
		free(o);
		return tk_err_set(e == EWOULDBLOCK ? -EBUSY : -e, "portfolio: %s is kept by another "
				  "tickd api (%s)", path, strerror(e));
	}
	pthread_mutex_init(&p->mu, NULL);
	snprintf(p->path, sizeof(p->path), "%s", path);
	p->pos = calloc(TKA_POSITIONS_MAX, sizeof(*p->pos));
	if (o == NULL || p->pos == NULL) {
		free(o);
		return tk_err_set(-ENOMEM, "portfolio: out of memory");
	}
	f = fopen(path, "r");
	if (f == NULL && errno == ENOENT) {
		free(o);
		p->initial = p->balance = cash;
		return tka_portfolio_save(p);
	}
	if (f == NULL) {
		free(o);
		return tk_err_set(-errno, "portfolio: cannot read %s: %s", path, strerror(errno));
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strlen(line);
		double v;

		lineno++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (tka_json_object(line, n, o, scratch, sizeof(scratch), why, sizeof(why)) < 0)
			goto bad;
		if (lineno == 1) {
			if (tka__num_of(o, "version", &v) < 0 || v != 1 ||
			    tka__num_of(o, "initial_balance", &p->initial) < 0 ||
			    tka__num_of(o, "balance", &p->balance) < 0 ||
			    tka__num_of(o, "realized_gain", &p->realized) < 0 ||
			    tka__num_of(o, "changes", &v) < 0) {
				snprintf(why, sizeof(why), "the first line is not the portfolio's header");
				goto bad;
			}
			p->changes = (uint64_t)v;
			continue;
		}
		{
			const struct tka_jfield *s = tka_jget(o, "symbol");
			struct tka_position *q = &p->pos[p->n];

			if (p->n == TKA_POSITIONS_MAX || s == NULL || s->type != TKA_J_STR ||
			    !tk_symbol_valid(s->str, s->len) || tka__num_of(o, "shares", &q->shares) < 0 ||
			    tka__num_of(o, "buy_price", &q->buy_price) < 0 ||
			    tka__num_of(o, "opened", &v) < 0 || !(q->shares > 0)) {
				snprintf(why, sizeof(why), "not a position");
				goto bad;
			}
			snprintf(q->symbol, sizeof(q->symbol), "%s", s->str);
			q->opened_ms = (int64_t)v;
			p->n++;
		}
	}
	fclose(f);
	free(o);
	if (lineno == 0)
		return tk_err_set(-EBADMSG, "portfolio: %s is empty (a portfolio file always has its "
				  "header line): move it aside to start anew", path);
	return 0;
bad:
	fclose(f);
	free(o);
	return tk_err_set(-EBADMSG, "portfolio: %s line %u: %s: fix it or move it aside to start "
			  "anew (it is never reset by itself)", path, lineno, why);
}

void tka_portfolio_close(struct tka_portfolio *p)
{
	free(p->pos);
	p->pos = NULL;
	if (p->lock_fd >= 0)
		close(p->lock_fd);
	p->lock_fd = -1;
	pthread_mutex_destroy(&p->mu);
}

/* ------------------------------------------------------------- endpoints */

static struct tka_position *tka__find(struct tka_portfolio *p, const char *symbol)
{
	unsigned i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->pos[i].symbol, symbol) == 0)
			return &p->pos[i];
	return NULL;
}

static void tka__remove(struct tka_portfolio *p, struct tka_position *q)
{
	*q = p->pos[--p->n];
}

/* A number field: required or not, within (0, max] (or any sign for
 * signed). 1 present, 0 absent, -EINVAL with a 400. */
static int tka__field(const struct tka_jobj *o, const char *name, bool required, bool is_signed,
		      double max, double *v, struct tka_resp *resp)
{
	const struct tka_jfield *f = tka_jget(o, name);

	if (f == NULL || f->type == TKA_J_NULL) {
		if (!required)
			return 0;
		tka_problem(resp, 400, name, "'%s' is required", name);
		return -EINVAL;
	}
	if (f->type != TKA_J_NUM) {
		tka_problem(resp, 400, name, "'%s' must be a number", name);
		return -EINVAL;
	}
	if (is_signed ? (f->num == 0 || fabs(f->num) > max) : !(f->num > 0 && f->num <= max)) {
		tka_problem(resp, 400, name, is_signed ? "'%s' must be a non-zero number of magnitude "
			    "at most %g" : "'%s' must be a number above 0 and at most %g", name, max);
		return -EINVAL;
	}
	*v = f->num;
	return 1;
}

/* Refuse keys the endpoint does not take (a typo must not pass as a default). */
static int tka__keys(const struct tka_jobj *o, const char *allowed, struct tka_resp *resp)
{
	unsigned i;

	for (i = 0; i < o->n; i++) {
		const char *p = allowed;
		size_t n = strlen(o->f[i].name);
		bool ok = false;

		while (*p != '\0' && !ok) {
			size_t len = strcspn(p, ",");

			ok = len == n && strncmp(p, o->f[i].name, n) == 0;
			p += len + (p[len] == ',');
		}
		if (!ok) {
			tka_problem(resp, 400, NULL, "unknown key \"%.40s\" in the body (it takes %s)",
				    o->f[i].name, allowed);
			return -EINVAL;
		}
	}
	return 0;
}

/* The body of a write; the object is the thread's own. */
static struct tka_jobj *tka__write_body(struct tka_req *r, bool required, const char *keys,
					struct tka_resp *o)
{
	static _Thread_local struct tka_jobj *obj;
	static _Thread_local char *scratch;

	if (obj == NULL && ((obj = malloc(sizeof(*obj))) == NULL ||
			    (scratch = malloc(TKA_BODY_MAX + 16)) == NULL)) {
		free(obj);
		obj = NULL;
		tka_problem(o, 503, NULL, "out of memory");
		return NULL;
	}
	if (tka_body(r, required, obj, scratch, TKA_BODY_MAX + 16, o) < 0 || tka__keys(obj, keys, o) < 0)
		return NULL;
	return obj;
}

static void tka__position_json(struct tka_ctx *c, struct tk_buf *b, const struct tka_position *q,
			       double mark, bool have_mark)
{
	double cost = q->shares * q->buy_price;

	(void)c;
	tk_buf_puts(b, "{\"symbol\":");
	tk_json_str(b, q->symbol, strlen(q->symbol));
	tk_buf_puts(b, ",\"shares\":");
	tk_json_double(b, q->shares);
	tk_buf_puts(b, ",\"buy_price\":");
	tk_json_double(b, q->buy_price);
	tk_buf_puts(b, ",\"cost_basis\":");
	tk_json_double(b, cost);
	tk_buf_puts(b, ",\"current_price\":");
	tk_json_double(b, have_mark ? mark : NAN);
	tk_buf_puts(b, ",\"market_value\":");
	tk_json_double(b, have_mark ? q->shares * mark : NAN);
	tk_buf_puts(b, ",\"unrealized_gain\":");
	tk_json_double(b, have_mark ? q->shares * mark - cost : NAN);
	tk_buf_puts(b, ",\"unrealized_gain_pct\":");
	tk_json_double(b, have_mark && cost > 0 ? 100.0 * (q->shares * mark - cost) / cost : NAN);
	tk_buf_puts(b, ",\"opened\":");
	tk_buf_i64(b, q->opened_ms);
	tk_buf_puts(b, "}");
}

static void tka__balance_fields(struct tk_buf *b, const struct tka_portfolio *p)
{
	tk_buf_puts(b, "\"balance\":");
	tk_json_double(b, p->balance);
	tk_buf_puts(b, ",\"initial_balance\":");
	tk_json_double(b, p->initial);
	tk_buf_puts(b, ",\"realized_gain\":");
	tk_json_double(b, p->realized);
}

/* The portfolio, or NULL with a 503: a context without one (the tests'
 * dispatch), or one still waiting for another tickd api to let it go (its
 * main thread publishes it once it has it). */
static struct tka_portfolio *tka__portfolio(const struct tka_ctx *c, struct tka_resp *o)
{
	struct tka_portfolio *p = __atomic_load_n(&c->portfolio, __ATOMIC_ACQUIRE);

	if (p != NULL)
		return p;
	if (c->portfolio_path != NULL) {
		tka_resp_header(o, "Retry-After: 1");
		tka_problem(o, 503, NULL, "the portfolio %s is kept by another tickd api: waiting for it",
			    c->portfolio_path);
	} else {
		tka_problem(o, 503, NULL, "this API keeps no portfolio");
	}
	return NULL;
}

void tka_get_portfolio(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o)
{
	struct tka_portfolio *p = tka__portfolio(c, o);
	double value = 0, unrealized = 0;
	bool all_marked = true;
	unsigned i;

	if (p == NULL)
		return;
	if (tka_params_allow(r, "", o) < 0)
		return;
	tka_json(o, 200);
	pthread_mutex_lock(&p->mu);
	tk_buf_puts(&o->body, "{\"positions\":[");
	for (i = 0; i < p->n; i++) {
		double mark;
		bool have = tka_live_price(c, p->pos[i].symbol, &mark, NULL) == 0;

		if (i > 0)
			tk_buf_puts(&o->body, ",");
		tka__position_json(c, &o->body, &p->pos[i], mark, have);
		if (have) {
			value += p->pos[i].shares * mark;
			unrealized += p->pos[i].shares * (mark - p->pos[i].buy_price);
		} else {
			all_marked = false;
		}
	}
	tk_buf_puts(&o->body, "],");
	tka__balance_fields(&o->body, p);
	tk_buf_puts(&o->body, ",\"market_value\":");
	tk_json_double(&o->body, all_marked ? value : NAN);
	tk_buf_puts(&o->body, ",\"unrealized_gain\":");
	tk_json_double(&o->body, all_marked ? unrealized : NAN);
	tk_buf_puts(&o->body, ",\"total_value\":");
	tk_json_double(&o->body, all_marked ? value + p->balance : NAN);
	tk_buf_puts(&o->body, "}");
	pthread_mutex_unlock(&p->mu);
}

void tka_get_balance(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o)
{
	struct tka_portfolio *p = tka__portfolio(c, o);

	if (p == NULL || tka_params_allow(r, "", o) < 0)
		return;
	tka_json(o, 200);
	pthread_mutex_lock(&p->mu);
	tk_buf_puts(&o->body, "{");
	tka__balance_fields(&o->body, p);
	tk_buf_puts(&o->body, "}");
	pthread_mutex_unlock(&p->mu);
}

/* Save under the lock; on failure the state before the change comes back. */
static bool tka__commit(struct tka_portfolio *p, const struct tka_portfolio *before,
			const struct tka_position *saved, unsigned saved_n, struct tka_resp *o)
{
	p->changes++;
	if (tka_portfolio_save(p) == 0)
		return true;
	p->initial = before->initial;
	p->balance = before->balance;
	p->realized = before->realized;
	p->changes = before->changes;
	memcpy(p->pos, saved, saved_n * sizeof(*saved));
	p->n = saved_n;
	tka_problem(o, 503, NULL, "the change was not made: %s", tk_err_msg());
	return false;
}

/* A copy of the positions to roll back to (rare writes: the copy is cheap). */
struct tka_undo {
	struct tka_portfolio head;
	struct tka_position *pos;
	unsigned n;
};

static bool tka__undo_take(struct tka_undo *u, const struct tka_portfolio *p, struct tka_resp *o)
{
	u->head = *p;
	u->n = p->n;
	u->pos = malloc((p->n + 1) * sizeof(*u->pos));
	if (u->pos == NULL) {
		tka_problem(o, 503, NULL, "out of memory");
		return false;
	}
	memcpy(u->pos, p->pos, p->n * sizeof(*u->pos));
	return true;
}

void tka_post_trade(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o)
{
	struct tka_portfolio *p = tka__portfolio(c, o);
	const struct tka_jfield *sf;
	struct tka_position *q;
	struct tka_jobj *b;
	struct tka_undo u;
	double shares, price, cost;
	char why[160];

	if (p == NULL)
		return;
	if (tka_params_allow(r, "", o) < 0 ||
	    (b = tka__write_body(r, true, "symbol,shares,buy_price", o)) == NULL)
		return;
	sf = tka_jget(b, "symbol");
	if (sf == NULL || sf->type != TKA_J_STR || tk_symbol_check(sf->str, sf->len, why, sizeof(why)) < 0) {
		tka_problem(o, 400, "symbol", sf == NULL ? "'symbol' is required" :
			    sf->type != TKA_J_STR ? "'symbol' must be a string" : "'symbol' is not a symbol: %s",
			    why);
		return;
	}
	if (tka__field(b, "shares", true, false, TKA_SHARES_MAX, &shares, o) < 0 ||
	    tka__field(b, "buy_price", true, false, TKA_PRICE_MAX, &price, o) < 0)
		return;
	if (tka_symbol_id(c, sf->str, o) < 0)
		return;
	cost = shares * price;
	pthread_mutex_lock(&p->mu);
	if (cost > p->balance) {
		pthread_mutex_unlock(&p->mu);
		tka_problem(o, 409, "shares", "%g shares at %g cost %g, the balance is %g", shares, price,
			    cost, p->balance);
		return;
	}
	q = tka__find(p, sf->str);
	if (q == NULL && p->n == TKA_POSITIONS_MAX) {
		pthread_mutex_unlock(&p->mu);
		tka_problem(o, 409, "symbol", "the portfolio holds %d positions, the most it takes",
			    TKA_POSITIONS_MAX);
		return;
	}
	if (!tka__undo_take(&u, p, o)) {
		pthread_mutex_unlock(&p->mu);
		return;
	}
	if (q == NULL) {
		q = &p->pos[p->n++];
		memset(q, 0, sizeof(*q));
		snprintf(q->symbol, sizeof(q->symbol), "%s", sf->str);
		q->opened_ms = tk_wall_ns() / 1000000;
	}
	q->buy_price = (q->shares * q->buy_price + cost) / (q->shares + shares);
	q->shares += shares;
	p->balance -= cost;
	if (tka__commit(p, &u.head, u.pos, u.n, o)) {
		double mark;
		bool have = tka_live_price(c, q->symbol, &mark, NULL) == 0;

		tka_json(o, 201);
		tk_buf_puts(&o->body, "{\"position\":");
		tka__position_json(c, &o->body, q, mark, have);
		tk_buf_puts(&o->body, ",");
		tka__balance_fields(&o->body, p);
		tk_buf_puts(&o->body, "}");
	}
	pthread_mutex_unlock(&p->mu);
	free(u.pos);
}

/* The price a sale or purchase goes at: the given one, else the live one. */
static int tka__trade_price(struct tka_ctx *c, const char *symbol, bool given, double *price,
			    const char *field, struct tka_resp *o)
{
	if (given)
		return 0;
	if (tka_live_price(c, symbol, price, NULL) == 0)
		return 0;
	tka_problem(o, 409, field, "'%s' has no live price yet: give %s", symbol, field);
	return -EINVAL;
}

void tka_put_trade(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o)
{
	struct tka_portfolio *p = tka__portfolio(c, o);
	double delta = 0, new_price = 0, current = 0, price, realized = 0, mark;
	int has_delta, has_new, has_current;
	struct tka_position *q;
	const char *symbol;
	struct tka_jobj *b;
	struct tka_undo u;
	bool have;

	if (p == NULL)
		return;
	if (tka_params_allow(r, "", o) < 0 || tka_seg_symbol(r, 1, &symbol, o) < 0 ||
	    (b = tka__write_body(r, true, "new_price,delta_shares,current_price", o)) == NULL)
		return;
	if ((has_delta = tka__field(b, "delta_shares", false, true, TKA_SHARES_MAX, &delta, o)) < 0 ||
	    (has_new = tka__field(b, "new_price", false, false, TKA_PRICE_MAX, &new_price, o)) < 0 ||
	    (has_current = tka__field(b, "current_price", false, false, TKA_PRICE_MAX, &current, o)) < 0)
		return;
	if (!has_delta && !has_new) {
		tka_problem(o, 400, NULL, "give delta_shares (shares bought, or sold when negative) "
			    "and/or new_price");
		return;
	}
	pthread_mutex_lock(&p->mu);
	q = tka__find(p, symbol);
	if (q == NULL) {
		pthread_mutex_unlock(&p->mu);
		tka_problem(o, 404, "symbol", "no position in '%s' (POST /trades opens one)", symbol);
		return;
	}
	/* The shares trade at new_price, else current_price, else the live price. */
	price = has_new ? new_price : current;
	if (has_delta && tka__trade_price(c, symbol, has_new || has_current, &price, "new_price", o) < 0) {
		pthread_mutex_unlock(&p->mu);
		return;
	}
	if (has_delta && delta > 0 && delta * price > p->balance) {
		pthread_mutex_unlock(&p->mu);
		tka_problem(o, 409, "delta_shares", "%g shares at %g cost %g, the balance is %g", delta,
			    price, delta * price, p->balance);
		return;
	}
	if (has_delta && delta < 0 && -delta > q->shares) {
		pthread_mutex_unlock(&p->mu);
		tka_problem(o, 409, "delta_shares", "the position holds %g shares, %g cannot be sold",
			    q->shares, -delta);
		return;
	}
	if (!tka__undo_take(&u, p, o)) {
		pthread_mutex_unlock(&p->mu);
		return;
	}
	if (!has_delta) {
		q->buy_price = new_price; /* a correction of the recorded price */
	} else if (delta > 0) {
		q->buy_price = (q->shares * q->buy_price + delta * price) / (q->shares + delta);
		q->shares += delta;
		p->balance -= delta * price;
	} else {
		realized = -delta * (price - q->buy_price);
		p->realized += realized;
		p->balance += -delta * price;
		q->shares += delta;
	}
	{
		struct tka_position shown = *q;

		if (q->shares <= 0)
			tka__remove(p, q);
		if (tka__commit(p, &u.head, u.pos, u.n, o)) {
			have = has_current ? (mark = current, true) : tka_live_price(c, symbol, &mark, NULL) == 0;
			tka_json(o, 200);
			tk_buf_puts(&o->body, "{\"position\":");
			tka__position_json(c, &o->body, &shown, mark, have);
			tk_buf_puts(&o->body, ",\"trade_gain\":");
			tk_json_double(&o->body, realized);
			tk_buf_puts(&o->body, ",");
			tka__balance_fields(&o->body, p);
			tk_buf_puts(&o->body, "}");
		}
	}
	pthread_mutex_unlock(&p->mu);
	free(u.pos);
}

void tka_delete_trade(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o)
{
	struct tka_portfolio *p = tka__portfolio(c, o);
	double price = 0, gain;
	struct tka_position *q, sold;
	const char *symbol;
	struct tka_jobj *b;
	struct tka_undo u;
	int has;

	if (p == NULL)
		return;
	if (tka_params_allow(r, "", o) < 0 || tka_seg_symbol(r, 1, &symbol, o) < 0 ||
	    (b = tka__write_body(r, false, "sale_price", o)) == NULL)
		return;
	if ((has = tka__field(b, "sale_price", false, false, TKA_PRICE_MAX, &price, o)) < 0)
		return;
	pthread_mutex_lock(&p->mu);
	q = tka__find(p, symbol);
	if (q == NULL) {
		pthread_mutex_unlock(&p->mu);
		tka_problem(o, 404, "symbol", "no position in '%s'", symbol);
		return;
	}
	if (tka__trade_price(c, symbol, has, &price, "sale_price", o) < 0 || !tka__undo_take(&u, p, o)) {
		pthread_mutex_unlock(&p->mu);
		return;
	}
	sold = *q;
	gain = q->shares * (price - q->buy_price);
	p->balance += q->shares * price;
	p->realized += gain;
	tka__remove(p, q);
	if (tka__commit(p, &u.head, u.pos, u.n, o)) {
		tka_json(o, 200);
		tk_buf_puts(&o->body, "{\"symbol\":");
		tk_json_str(&o->body, sold.symbol, strlen(sold.symbol));
		tk_buf_puts(&o->body, ",\"shares\":");
		tk_json_double(&o->body, sold.shares);
		tk_buf_puts(&o->body, ",\"buy_price\":");
		tk_json_double(&o->body, sold.buy_price);
		tk_buf_puts(&o->body, ",\"sale_price\":");
		tk_json_double(&o->body, price);
		tk_buf_puts(&o->body, ",\"net_gain\":");
		tk_json_double(&o->body, gain);
		tk_buf_puts(&o->body, ",");
		tka__balance_fields(&o->body, p);
		tk_buf_puts(&o->body, "}");
	}
	pthread_mutex_unlock(&p->mu);
	free(u.pos);
}
