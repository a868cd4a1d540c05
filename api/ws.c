/* The stream: /ws and /ws/finnhub (ws.h). */
#include "api/ws.h"

#include <errno.h>
#include <stddef.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/body.h"
#include "api/ratelimit.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/msg.h"
#include "shm/records.h"
#include "shm/render.h"
#include "shm/symtab.h"

#define TKA_WS_QUOTES_MAX 512 /* quotes owed to one client at once */

struct tka_ws_client {
	struct lws *wsi;
	unsigned at;               /* its place in w->list */
	bool finnhub;
	bool close_slow;           /* conflated too often: close with 1013 */
	struct tka_ws_sub sub;
	uint8_t *ids;              /* bitmap of the named symbols' ids */
	uint32_t nids;             /* bits in ids (the symbol table's capacity) */
	uint32_t resolved;         /* names found in the symbol table so far */
	uint32_t resolved_at;      /* the table's size then */
	uint64_t next[TKA_WS_LOGS];
	int laps;
	int64_t lap_t0;
	int64_t last_ping_ns;
	char *ctl;                 /* control messages not sent yet, comma-separated */
	size_t ctl_len, ctl_cap;
	bool lapped;               /* conflated in the frame being made */
	unsigned first_log;        /* where the last frame started */
	/* Quotes owed: a symbol traded, and the sequence of its newest trade.
	 * The engine's live state may not have that trade yet when the frame
	 * is made; the quote then waits for a later frame. */
	uint32_t nqpend;
	uint32_t qid[TKA_WS_QUOTES_MAX];
	uint64_t qseq[TKA_WS_QUOTES_MAX];
	uint8_t qlog[TKA_WS_QUOTES_MAX];  /* the log of that trade */
	bool qconf[TKA_WS_QUOTES_MAX];    /* a conflated client's: send now, say so */
	int64_t qsince[TKA_WS_QUOTES_MAX]; /* owed since (monotonic ns) */
	char *rx;                  /* an incoming message being assembled */
	size_t rx_len;
	struct tka_bucket msgs;    /* TKA_WS_MSG_RATE a second, TKA_WS_MSG_BURST at once */
	struct tka_ws_addr *from;  /* its address's count (--ws-max-per-address), or NULL */
	bool ack_pending;          /* a "subscribed" in ctl at ack_at: the next one replaces it */
	size_t ack_at, ack_len;
	uint64_t folded;           /* errors not queued one by one: told as one count */
	const char *close_why;     /* set with close_slow */
	int64_t last_writable;     /* a writable, when the stuck timeout was last armed (monotonic ns) */
};

/* Symbol id -> 1 + its index in the client's owed quotes (k->qid), 0: none;
 * made from k->qid at the start of each frame (the loop has one thread). */
static uint32_t tka__owed[1u << 20];

/* ------------------------------------------------------------- setup */

int tka_ws_open(struct tka_ws *w, struct tka_ctx *c, unsigned max_clients, unsigned max_per_address,
		uint64_t max_lag)
{
	const struct tk_segment *seg = &c->seg;
	uint32_t i;

	memset(w, 0, sizeof(*w));
	w->c = c;
	w->max_clients = max_clients;
	w->max_per_address = max_per_address;
	w->max_lag = max_lag;
	w->list = calloc(max_clients > 0 ? max_clients : 1, sizeof(*w->list));
	if (w->list == NULL)
		return tk_err_set(-ENOMEM, "api: no memory for %u stream clients", max_clients);
	for (i = 0; i < seg->hdr->config.nlogs && w->nlogs < TKA_WS_LOGS; i++) {
		const struct tk_log_spec *spec = &seg->hdr->config.logs[i];
		struct tk_reader_opts opts = { .start = TK_START_END };
		struct tka_ws_log *l = &w->log[w->nlogs];
		int64_t tf;
		int rc;

		/* The engine's logs of several shards are bars.<tf>.<i> and
		 * signals.<i>: one channel each kind, whatever the shards. */
		const char *tf_end = strncmp(spec->name, "bars.", 5) == 0 ? strchr(spec->name + 5, '.') : NULL;
		size_t tf_len = tf_end != NULL ? (size_t)(tf_end - spec->name - 5) : strlen(spec->name) - 5;

		if (strncmp(spec->name, "ticks.", 6) == 0) {
			l->kind = TKA_WS_TICKS;
			w->nticks++;
		} else if (strncmp(spec->name, "bars.", 5) == 0 && tk_tf_parse(spec->name + 5, tf_len, &tf) == 0) {
			l->kind = TKA_WS_BARS;
		} else if (strcmp(spec->name, "signals") == 0 || strncmp(spec->name, "signals.", 8) == 0) {
			l->kind = TKA_WS_SIGNALS;
		} else {
			continue;
		}
		rc = tk_log_reader_open(&l->r, seg, spec->name, &opts);
		if (rc < 0)
			return rc;
		if (l->r.slot_size > TKA_WS_SLOT_MAX)
			return tk_err_set(-EPROTO, "api: log %s has %u-byte slots, the stream reads at "
					  "most %d", spec->name, l->r.slot_size, TKA_WS_SLOT_MAX);
		if (l->kind == TKA_WS_BARS)
			snprintf(l->channel, sizeof(l->channel), "bars.%.*s", (int)tf_len, spec->name + 5);
		else
			snprintf(l->channel, sizeof(l->channel), "%s",
				 l->kind == TKA_WS_TICKS ? "trades" : "signals");
		w->scanned[w->nlogs] = tk_log_write_seq(l->r.log);
		w->nlogs++;
	}
	return 0;
}

void tka_ws_close(struct tka_ws *w)
{
	free(w->list);
	w->list = NULL;
}

/* The loop counts, tka_publish reads them from the main thread. */
static void tka__count(struct tka_ws *w, unsigned which)
{
	__atomic_add_fetch(&w->c->ws[which], 1, __ATOMIC_RELAXED);
}

/* A channel name's bits: every log it names (all ticks.* for "trades"). */
static uint64_t tka__channel_bits(const struct tka_ws *w, const char *name)
{
	uint64_t bits = 0;
	unsigned i;

	if (strcmp(name, "quotes") == 0)
		return 1ull << TKA_WS_QUOTES;
	for (i = 0; i < w->nlogs; i++)
		if (strcmp(w->log[i].channel, name) == 0)
			bits |= 1ull << i;
	return bits;
}

/* ---------------------------------------------------- client messages */

static void tka__names(struct tk_buf *b, const struct tka_ws *w, uint64_t channels)
{
	bool first = true;
	unsigned i;

	tk_buf_puts(b, "[");
	if (channels & (1ull << TKA_WS_QUOTES)) {
		tk_buf_puts(b, "\"quotes\"");
		first = false;
	}
	for (i = 0; i < w->nlogs; i++) {
		if (!(channels & (1ull << i)))
			continue;
		/* each channel once, however many logs carry it (feeds, shards) */
		if (channels & ((1ull << i) - 1) & tka__channel_bits(w, w->log[i].channel))
			continue;
		tk_buf_puts(b, first ? "\"" : ",\"");
		tk_buf_puts(b, w->log[i].channel);
		tk_buf_puts(b, "\"");
		first = false;
	}
	tk_buf_puts(b, "]");
}

static void tka__error(struct tk_buf *ack, bool finnhub, const char *fmt, const char *arg)
{
	char msg[256];

	snprintf(msg, sizeof(msg), fmt, arg);
	tk_buf_puts(ack, finnhub ? "{\"type\":\"error\",\"msg\":" : "{\"type\":\"error\",\"error\":");
	tk_json_str(ack, msg, strlen(msg));
	tk_buf_puts(ack, "}");
}

/* A subscription names up to 1,000 symbols, and one message may name them
 * all: found by hash, removed by marking, compacted once per message. */
static uint32_t tka__sym_slot0(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h & (TKA_WS_SYM_SLOTS - 1);
}

static int tka__sym_index(const struct tka_ws_sub *sub, const char *s, size_t len)
{
	for (uint32_t h = tka__sym_slot0(s, len);; h = (h + 1) & (TKA_WS_SYM_SLOTS - 1)) {
		uint16_t at = sub->where[h];

		if (at == 0)
			return -1;
		if (strcmp(sub->sym[at - 1], s) == 0)
			return at - 1;
	}
}

static void tka__sym_place(struct tka_ws_sub *sub, uint32_t i)
{
	uint32_t h = tka__sym_slot0(sub->sym[i], strlen(sub->sym[i]));

	while (sub->where[h] != 0)
		h = (h + 1) & (TKA_WS_SYM_SLOTS - 1);
	sub->where[h] = (uint16_t)(i + 1);
}

/* After a message's removals: the names left, in their order, and their slots. */
static void tka__sym_compact(struct tka_ws_sub *sub)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < sub->nsym; i++)
		if (sub->sym[i][0] != '\0') {
			if (n != i)
				memcpy(sub->sym[n], sub->sym[i], sizeof(sub->sym[0]));
			n++;
		}
	sub->nsym = n;
	memset(sub->where, 0, sizeof(sub->where));
	for (uint32_t i = 0; i < n; i++)
		tka__sym_place(sub, i);
}

/* Add (or remove) one symbol name; the error into ack on refusal.  *removed
 * is set when a name was marked removed (tka__sym_compact follows). */
static int tka__sym_edit(struct tka_ws_sub *sub, const char *s, size_t len, bool add, bool finnhub,
			 struct tk_buf *ack, bool *removed)
{
	char why[120];
	int at;

	if (len == 1 && s[0] == '*') {
		sub->all_symbols = add;
		return 0;
	}
	if (tk_symbol_check(s, len, why, sizeof(why)) != 0) {
		char what[200];

		snprintf(what, sizeof(what), "%.40s' is not a symbol: %s", s, why);
		tka__error(ack, finnhub, "'%s", what);
		return -EINVAL;
	}
	at = tka__sym_index(sub, s, len);
	if (add && at < 0) {
		if (sub->nsym == TKA_WS_SYMBOLS_MAX) {
			tka__error(ack, finnhub, "more than %s symbols on one connection", "1000");
			return -EINVAL;
		}
		memcpy(sub->sym[sub->nsym], s, len + 1);
		tka__sym_place(sub, sub->nsym);
		sub->nsym++;
	} else if (!add && at >= 0) {
		sub->sym[at][0] = '\0'; /* its slot stays, and matches no name */
		*removed = true;
	}
	return 0;
}

int tka_ws_apply(const struct tka_ws *w, bool finnhub, const char *msg, size_t len,
		 struct tka_ws_sub *sub, struct tk_buf *ack)
{
	static struct tka_jobj o;
	static char scratch[TKA_WS_RX_MAX + 16];
	char why[160];
	const struct tka_jfield *act, *syms, *chans;
	bool add;
	unsigned i;

	if (len > TKA_WS_RX_MAX) {
		tka__error(ack, finnhub, "a message of more than %s bytes", "16384");
		return -EINVAL;
	}
	if (tka_json_object(msg, len, &o, scratch, sizeof(scratch), why, sizeof(why)) != 0) {
		tka__error(ack, finnhub, "not a JSON object: %s", why);
		return -EINVAL;
	}
	act = tka_jget(&o, finnhub ? "type" : "action");
	if (act == NULL || act->type != TKA_J_STR || strlen(act->str) != act->len ||
	    (strcmp(act->str, "subscribe") != 0 && strcmp(act->str, "unsubscribe") != 0)) {
		tka__error(ack, finnhub, finnhub ? "\"type\" must be \"subscribe\" or \"unsubscribe\"%s"
					: "\"action\" must be \"subscribe\" or \"unsubscribe\"%s", "");
		return -EINVAL;
	}
	add = strcmp(act->str, "subscribe") == 0;
	if (finnhub) {
		const struct tka_jfield *s = tka_jget(&o, "symbol");

		if (o.n != 2 || s == NULL || s->type != TKA_J_STR) {
			tka__error(ack, true, "a message is {\"type\":\"subscribe\",\"symbol\":\"AAPL\"}%s", "");
			return -EINVAL;
		}
		bool removed = false;

		if (tka__sym_edit(sub, s->str, s->len, add, true, ack, &removed) < 0)
			return -EINVAL;
		if (removed)
			tka__sym_compact(sub);
		sub->channels = tka__channel_bits(w, "trades");
		return 0; /* Finnhub acknowledges nothing */
	}
	syms = tka_jget(&o, "symbols");
	chans = tka_jget(&o, "channels");
	for (i = 0; i < o.n; i++)
		if (strcmp(o.f[i].name, "action") != 0 && strcmp(o.f[i].name, "symbols") != 0 &&
		    strcmp(o.f[i].name, "channels") != 0) {
			tka__error(ack, false, "unknown key \"%s\" (a message takes action, channels, symbols)",
				   o.f[i].name);
			return -EINVAL;
		}
	if ((syms != NULL && syms->type != TKA_J_ARR) || (chans != NULL && chans->type != TKA_J_ARR) ||
	    (add && (syms == NULL || chans == NULL)) || (!add && syms == NULL && chans == NULL)) {
		tka__error(ack, false, "%s takes \"channels\" and \"symbols\", arrays of strings",
			   add ? "subscribe" : "unsubscribe: at least one of");
		return -EINVAL;
	}
	{
		struct tka_ws_sub next = *sub;
		uint64_t bits = 0;
		bool removed = false;

		for (i = 0; chans != NULL && i < chans->nitems; i++) {
			const char *name = o.items[chans->first + i];
			/* a decoded \u0000 must not end the name early */
			uint64_t b = strlen(name) == o.item_len[chans->first + i] ? tka__channel_bits(w, name) : 0;

			if (b == 0) {
				tka__error(ack, false, "unknown channel '%s' (trades, quotes, signals, "
					   "bars.<timeframe>)", name);
				return -EINVAL;
			}
			bits |= b;
		}
		/* subscribe adds both; unsubscribe removes what it names (only
		 * channels keeps the symbols, and the reverse). */
		for (i = 0; syms != NULL && i < syms->nitems; i++)
			if (tka__sym_edit(&next, o.items[syms->first + i], o.item_len[syms->first + i],
					  add, false, ack, &removed) < 0)
				return -EINVAL;
		if (removed)
			tka__sym_compact(&next);
		if (add)
			next.channels |= bits;
		else
			next.channels &= ~bits;
		*sub = next;
	}
	tk_buf_puts(ack, "{\"type\":\"subscribed\",\"channels\":");
	tka__names(ack, w, sub->channels);
	tk_buf_puts(ack, ",\"symbols\":[");
	if (sub->all_symbols)
		tk_buf_puts(ack, sub->nsym > 0 ? "\"*\"," : "\"*\"");
	for (i = 0; i < sub->nsym; i++) {
		if (i > 0)
			tk_buf_puts(ack, ",");
		tk_json_str(ack, sub->sym[i], strlen(sub->sym[i]));
	}
	tk_buf_puts(ack, "]}");
	return 0;
}

/* ---------------------------------------------------------- addresses */

/* The count of wsi's peer address (an IPv6 one by its /64), made if new;
 * NULL for a loopback peer, an address lws cannot tell, or a table full of
 * live addresses (then the global limit alone applies).  An address seen before keeps its entry at
 * 0: a probe runs the whole chain before it reuses one. */
static struct tka_ws_addr *tka__addr(struct tka_ws *w, struct lws *wsi)
{
	char text[64];
	uint8_t key[16];
	bool loopback;
	uint32_t h = 2166136261u, i, n;
	struct tka_ws_addr *free_one = NULL;

	if (lws_get_peer_simple(wsi, text, sizeof(text)) == NULL || tka_addr_key(text, key, &loopback) < 0 ||
	    loopback)
		return NULL;
	/* An IPv6 host has a /64 to pick addresses from: it counts as one. */
	if (!(memcmp(key, (uint8_t[12]){ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff }, 12) == 0))
		memset(key + 8, 0, 8);
	for (i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	for (n = 0, i = h & (TKA_WS_ADDR_SLOTS - 1); n < TKA_WS_ADDR_SLOTS; n++, i = (i + 1) & (TKA_WS_ADDR_SLOTS - 1)) {
		struct tka_ws_addr *a = &w->addr[i];
		bool empty = a->n == 0 && memcmp(a->key, (uint8_t[16]){ 0 }, 16) == 0;

		if (!empty && memcmp(a->key, key, 16) == 0)
			return a;
		if (a->n == 0 && free_one == NULL)
			free_one = a;
		if (empty)
			break;
	}
	if (free_one != NULL)
		memcpy(free_one->key, key, 16);
	return free_one;
}

/* ------------------------------------------------------------ frames */

/* Symbols in the table so far. */
static uint32_t tka__symbols(const struct tka_ws *w)
{
	const struct tk_symtab_region *t = tk_symtab_of(&w->c->seg);

	return t != NULL ? tk_symtab_count(t) : 0;
}

/* The ids of the names the symbol table knows: rebuilt when a name is
 * added or a symbol appears after it was named. */
static void tka__resolve(struct tka_ws *w, struct tka_ws_client *k)
{
	const struct tk_symtab_region *t = tk_symtab_of(&w->c->seg);
	uint32_t i, found = 0;

	if (t == NULL)
		return;
	if (k->ids == NULL) {
		k->ids = calloc((t->capacity + 7) / 8, 1);
		if (k->ids == NULL)
			return;
		k->nids = t->capacity;
	}
	/* Settled, not counted: a name being added has its id before a
	 * lookup finds it, and would otherwise never be looked up again. */
	k->resolved_at = tk_symtab_settled(t);
	memset(k->ids, 0, (k->nids + 7) / 8);
	for (i = 0; i < k->sub.nsym; i++) {
		int32_t id = tk_symtab_find(t, k->sub.sym[i], (uint32_t)strlen(k->sub.sym[i]));

		if (id >= 0 && (uint32_t)id < k->nids) {
			k->ids[id / 8] |= (uint8_t)(1u << (id % 8));
			found++;
		}
	}
	k->resolved = found;
}

/* A name not known yet is looked up again once the table has grown. */
static void tka__resolve_if_grown(struct tka_ws *w, struct tka_ws_client *k)
{
	if (k->sub.nsym != k->resolved && k->resolved_at != tka__symbols(w))
		tka__resolve(w, k);
}

static bool tka__wants(const struct tka_ws_client *k, uint32_t id)
{
	return k->sub.all_symbols || (id < k->nids && (k->ids[id / 8] & (1u << (id % 8))));
}

/* Append one message (already rendered in m) to the frame f, with the
 * separator; false when it does not fit (the caller stops there). */
static bool tka__append(struct tk_buf *f, const struct tk_buf *m, size_t room, bool first)
{
	if (m->overflow || f->len + m->len + 2 > room)
		return false;
	if (!first)
		tk_buf_put(f, ",", 1);
	tk_buf_put(f, m->p, m->len);
	return true;
}

/* Queue a control message (ack, error, gap) for the client's next frame.
 * Never dropped: a client that lets more than TKA_WS_CTL_MAX pile up is
 * closed (tka__answer_ctl keeps acknowledgements and errors well below). */
#define TKA_WS_CTL_MAX (TKA_WS_FRAME - 64)
#define TKA_WS_CTL_SOFT (16 * 1024) /* errors past this are counted, not queued */
static void tka__ctl(struct tka_ws_client *k, const char *json, size_t len)
{
	size_t need = k->ctl_len + len + 1;

	if (need > TKA_WS_CTL_MAX) {
		k->close_slow = true;
		k->close_why = "too many messages left unread";
		return;
	}
	if (need > k->ctl_cap) {
		size_t cap = need < 4096 ? 4096 : need * 2 < TKA_WS_CTL_MAX ? need * 2 : TKA_WS_CTL_MAX;
		char *p = realloc(k->ctl, cap);

		if (p == NULL) {
			k->close_slow = true;
			return;
		}
		k->ctl = p;
		k->ctl_cap = cap;
	}
	if (k->ctl_len > 0) /* Finnhub's go out one a frame: a line each */
		k->ctl[k->ctl_len++] = k->finnhub ? '\n' : ',';
	memcpy(k->ctl + k->ctl_len, json, len);
	k->ctl_len += len;
}

/* An answer to a client's message.  A "subscribed" states the whole
 * subscription, so a newer one replaces the one not sent yet (a client
 * subscribing symbol by symbol would pile up n^2/2 bytes); errors past
 * TKA_WS_CTL_SOFT are counted, and told as one message. */
static void tka__answer_ctl(struct tka_ws_client *k, const char *json, size_t len)
{
	static const char sub[] = "{\"type\":\"subscribed\"";
	bool is_ack = len >= sizeof(sub) - 1 && memcmp(json, sub, sizeof(sub) - 1) == 0;

	if (is_ack && k->ack_pending) {
		/* the old one and its separator out */
		size_t from = k->ack_at, to = k->ack_at + k->ack_len;

		if (from > 0)
			from--;
		else if (to < k->ctl_len)
			to++;
		memmove(k->ctl + from, k->ctl + to, k->ctl_len - to);
		k->ctl_len -= to - from;
		k->ack_pending = false;
	}
	if (!is_ack && k->ctl_len + len > TKA_WS_CTL_SOFT) {
		k->folded++;
		return;
	}
	tka__ctl(k, json, len);
	if (is_ack && !k->close_slow) {
		k->ack_pending = true;
		k->ack_len = len;
		k->ack_at = k->ctl_len - len;
	}
}

/* The client is behind on log li: the gap it missed, the latest quotes of
 * the symbols it names, and its position at the newest record.  A frame
 * with any number of conflated logs is one lap. */
static void tka__conflate(struct tka_ws *w, struct tka_ws_client *k, unsigned li, uint64_t head,
			  int64_t now)
{
	const struct tk_symtab_region *t = tk_symtab_of(&w->c->seg);
	uint64_t from = k->next[li];
	char mem[1024];
	struct tk_buf m;
	uint32_t i;

	if (!k->lapped) {
		k->lapped = true;
		if (now - k->lap_t0 > TKA_WS_LAP_WINDOW_NS) {
			k->lap_t0 = now;
			k->laps = 0;
		}
		if (++k->laps >= TKA_WS_MAX_LAPS) {
			k->close_slow = true;
			k->close_why = "too slow: conflated 3 times in 30 s";
		}
	}
	k->next[li] = head + 1;
	tka__count(w, TKA_WS_GAPS);
	if (k->finnhub)
		return; /* Finnhub's protocol has no gap message: the trades go on from here */
	tk_buf_init(&m, mem, sizeof(mem));
	tk_buf_puts(&m, "{\"type\":\"gap\",\"channel\":");
	tk_json_str(&m, w->log[li].channel, strlen(w->log[li].channel));
	tk_buf_puts(&m, ",\"log\":");
	tk_json_str(&m, w->log[li].r.log->name, strlen(w->log[li].r.log->name));
	tk_buf_puts(&m, ",\"from\":");
	tk_buf_u64(&m, from);
	tk_buf_puts(&m, ",\"to\":");
	tk_buf_u64(&m, head);
	tk_buf_puts(&m, "}");
	tka__ctl(k, m.p, m.len);
	/* The latest quote of each symbol it names, after the gap: owed
	 * quotes, ready at once, sent as the frames' room allows. */
	for (i = 0; t != NULL && i < k->sub.nsym && w->log[li].kind == TKA_WS_TICKS; i++) {
		int32_t id = tk_symtab_find(t, k->sub.sym[i], (uint32_t)strlen(k->sub.sym[i]));
		uint32_t q;

		if (id < 0 || (uint32_t)id >= (1u << 20))
			continue;
		if (tka__owed[id] != 0) {
			q = tka__owed[id] - 1;
		} else if (k->nqpend < TKA_WS_QUOTES_MAX) {
			q = k->nqpend++;
			k->qid[q] = (uint32_t)id;
			k->qlog[q] = (uint8_t)li;
			tka__owed[id] = q + 1;
		} else {
			continue;
		}
		k->qseq[q] = 0;
		k->qconf[q] = true;
		k->qsince[q] = now - TKA_WS_QUOTE_WAIT_NS;
	}
}

/*
 * The client's next frame into f (room bytes): its control messages, then
 * what its logs hold for it.  Returns the messages put in; *more when
 * something is left for another frame.
 */
/* Every engine worker reading log li is past seq (its committed cursor:
 * up to a checkpoint, 250 ms, behind what it applied).  No worker: true. */
static bool tka__engines_past(const struct tka_ws *w, unsigned li, uint64_t seq)
{
	struct tk_log_region *log = w->log[li].r.log;
	const struct tk_reader_slot *rs = tk_log_readers(log);

	for (uint32_t i = 0; i < log->nreaders; i++)
		if (__atomic_load_n(&rs[i].state, __ATOMIC_ACQUIRE) == TK_READER_ACTIVE &&
		    strncmp(rs[i].name, "engine.", 7) == 0 &&
		    __atomic_load_n(&rs[i].cursor, __ATOMIC_ACQUIRE) <= seq)
			return false;
	return true;
}

/*
 * May quote i go, the live state's last sequence being live_seq?  With one
 * tick log, once the live state holds the newest trade sent (its sequence
 * at least that one's).  With several, their sequences say nothing of each
 * other: once every engine worker's cursor is past it.  And after a second
 * in any case (an engine stopped or gone), the quote as it is.
 */
static bool tka__quote_ready(const struct tka_ws *w, const struct tka_ws_client *k, uint32_t i,
			     uint64_t live_seq, int64_t now)
{
	if (now - k->qsince[i] >= TKA_WS_QUOTE_WAIT_NS)
		return true;
	return w->nticks == 1 ? live_seq >= k->qseq[i] : tka__engines_past(w, k->qlog[i], k->qseq[i]);
}

static unsigned tka__frame(struct tka_ws *w, struct tka_ws_client *k, struct tk_buf *f, size_t room,
			   bool *more, int64_t now)
{
	const struct tk_symtab_region *t = tk_symtab_of(&w->c->seg);
	_Alignas(64) uint8_t slotmem[TKA_WS_SLOT_MAX];
	struct tk_slot *slot = (struct tk_slot *)slotmem;
	char mem[4096];
	struct tk_buf m;
	unsigned n = 0, li;
	bool want_quotes = k->sub.channels & (1ull << TKA_WS_QUOTES);
	/* Room kept for the frame's quotes (one per symbol traded in it). */
	size_t data_room = (want_quotes ? room - TKA_WS_FRAME / 4 : room) - 2;

	*more = false;
	k->lapped = false;
	for (uint32_t i = 0; i < k->nqpend; i++)
		tka__owed[k->qid[i]] = i + 1;
	tka__resolve_if_grown(w, k);
	tk_buf_puts(f, k->finnhub ? "{\"type\":\"trade\",\"data\":[" : "[");
	if (!k->finnhub && k->ctl_len > 0 && f->len + k->ctl_len + 2 <= room) {
		tk_buf_put(f, k->ctl, k->ctl_len);
		n++;
		k->ctl_len = 0;
		k->ack_pending = false;
	}
	/* Each frame starts at the next log: a busy tick log that fills every
	 * frame does not keep the bars and signals behind it waiting. */
	k->first_log = w->nlogs > 0 ? (k->first_log + 1) % w->nlogs : 0;
	for (unsigned j = 0; j < w->nlogs; j++) {
		struct tka_ws_log *l = &w->log[li = (k->first_log + j) % w->nlogs];
		bool on = k->sub.channels & (1ull << li);
		uint64_t head = tk_log_write_seq(l->r.log);

		if (l->kind == TKA_WS_TICKS && want_quotes)
			on = true;
		if (!on)
			continue;
		if (k->next[li] == 0)
			k->next[li] = head + 1; /* from now on */
		if (k->next[li] <= head && (head - k->next[li] + 1 > w->max_lag ||
					    k->next[li] < tk_log_oldest(l->r.log))) {
			tka__conflate(w, k, li, head, now);
			*more = true; /* the gap goes out in the next frame */
			continue;
		}
		while (k->next[li] <= head) {
			uint32_t id;

			if (!tk_log_read_at(&l->r, k->next[li], slot)) {
				/* overwritten under us: conflated next frame */
				if (k->next[li] < tk_log_oldest(l->r.log))
					*more = true;
				break;
			}
			id = slot->aux;
			tk_buf_init(&m, mem, sizeof(mem));
			if (l->kind == TKA_WS_TICKS && slot->type == TK_REC_GAP) {
				if (!k->finnhub && (k->sub.channels & (1ull << li))) {
					tk_buf_puts(&m, "{\"channel\":\"trades\",\"data\":");
					tk_render_json(&m, slot->seq, slot->type, slot->aux, slot->data,
						       l->r.slot_size - TK_SLOT_HEADER, t);
					tk_buf_puts(&m, "}");
				}
			} else if ((l->kind != TKA_WS_TICKS || slot->type == TK_REC_TICK) &&
				   tka__wants(k, id)) {
				if (l->kind == TKA_WS_TICKS && want_quotes && id < (1u << 20)) {
					if (tka__owed[id] != 0) {
						k->qseq[tka__owed[id] - 1] = slot->seq;
						k->qlog[tka__owed[id] - 1] = (uint8_t)li;
					} else if (k->nqpend < TKA_WS_QUOTES_MAX) {
						k->qid[k->nqpend] = id;
						k->qseq[k->nqpend] = slot->seq;
						k->qlog[k->nqpend] = (uint8_t)li;
						k->qconf[k->nqpend] = false;
						k->qsince[k->nqpend] = now;
						tka__owed[id] = ++k->nqpend;
					}
				}
				if (!(k->sub.channels & (1ull << li))) {
					/* quotes only */
				} else if (k->finnhub) {
					struct tk_tick tk;
					const char *name = t != NULL ? tk_symtab_name(t, (int32_t)id) : NULL;

					memcpy(&tk, slot->data, sizeof(tk));
					tk_render_finnhub_trade(&m, name != NULL ? name : "", &tk);
				} else {
					tk_buf_puts(&m, "{\"channel\":");
					tk_json_str(&m, l->channel, strlen(l->channel));
					tk_buf_puts(&m, ",\"data\":");
					tk_render_json(&m, slot->seq, slot->type, slot->aux, slot->data,
						       l->r.slot_size - TK_SLOT_HEADER, t);
					tk_buf_puts(&m, "}");
				}
			}
			if (m.overflow) {
				/* a record too big for a message: skipped, not retried forever */
				tka__count(w, TKA_WS_BAD_RECORDS);
			} else if (m.len > 0) {
				if (!tka__append(f, &m, data_room, n == 0)) {
					*more = true;
					break;
				}
				n++;
				tka__count(w, TKA_WS_MESSAGES);
			}
			k->next[li]++;
		}
		if (k->next[li] <= head)
			*more = true;
	}
	/* One quote per symbol traded: the newest, once the live state holds
	 * its newest trade (else it stays owed: the waker's next call, within
	 * a second, tries again). */
	{
		uint32_t keep = 0;

		for (uint32_t i = 0; i < k->nqpend; i++) {
			uint32_t id = k->qid[i];
			const char *name = t != NULL ? tk_symtab_name(t, (int32_t)id) : NULL;
			uint64_t seq = 0;
			bool sent = name == NULL;

			tka__owed[id] = 0;
			if (!sent) {
				tk_buf_init(&m, mem, sizeof(mem));
				tk_buf_puts(&m, "{\"channel\":\"quotes\",\"data\":");
				int qrc = tka_quote_json(w->c, (int32_t)id, name, &m, &seq);

				if (qrc != 0 && now - k->qsince[i] >= TKA_WS_QUOTE_WAIT_NS) {
					/* none to give (never traded, no engine): not owed
					 * for ever, which would wake the client at every wake */
					sent = true;
				} else if (qrc == 0 && tka__quote_ready(w, k, i, seq, now)) {
					tk_buf_puts(&m, k->qconf[i] ? ",\"conflated\":true}" : "}");
					if (tka__append(f, &m, room - 2, n == 0)) {
						n++;
						tka__count(w, TKA_WS_MESSAGES);
						sent = true;
					} else {
						*more = true; /* the frame is full: the next one */
					}
				}
			}
			if (!sent) {
				k->qid[keep] = id;
				k->qseq[keep] = k->qseq[i];
				k->qlog[keep] = k->qlog[i];
				k->qconf[keep] = k->qconf[i];
				k->qsince[keep] = k->qsince[i];
				keep++;
			}
		}
		k->nqpend = keep;
	}
	tk_buf_puts(f, k->finnhub ? "]}" : "]");
	return n;
}

/* ------------------------------------------------------------- wakes */

/* What one wake found in a log's new records. */
struct tka_wake_log {
	uint64_t from, head;     /* the records (from, head] were new */
	bool any;                /* a record a client may be sent */
	bool gap;                /* a tick log's gap record (every trades subscriber's) */
	bool many;               /* too many to tell apart, or lapped: every follower's */
	uint32_t nids;
	uint32_t ids[TKA_WS_WAKE_IDS];
};

static void tka__wake_scan(struct tka_ws *w, unsigned li, bool all, struct tka_wake_log *g)
{
	struct tka_ws_log *l = &w->log[li];
	_Alignas(64) uint8_t slotmem[TKA_WS_SLOT_MAX];
	struct tk_slot *slot = (struct tk_slot *)slotmem;

	memset(g, 0, offsetof(struct tka_wake_log, ids));
	g->from = w->scanned[li];
	g->head = tk_log_write_seq(l->r.log);
	w->scanned[li] = g->head;
	if (g->head <= g->from || all)
		return; /* (all: every client is called, none told apart) */
	g->any = true;
	if (g->head - g->from > TKA_WS_WAKE_SCAN || g->from + 1 < tk_log_oldest(l->r.log)) {
		g->many = true;
		return;
	}
	for (uint64_t q = g->from + 1; q <= g->head && !g->many; q++) {
		uint32_t i;

		if (!tk_log_read_at(&l->r, q, slot)) {
			g->many = true; /* overwritten under us */
			break;
		}
		if (l->kind == TKA_WS_TICKS && slot->type == TK_REC_GAP) {
			g->gap = true;
			continue;
		}
		if (l->kind == TKA_WS_TICKS && slot->type != TK_REC_TICK)
			continue;
		for (i = 0; i < g->nids && g->ids[i] != slot->aux; i++)
			;
		if (i < g->nids)
			continue;
		if (g->nids == TKA_WS_WAKE_IDS)
			g->many = true;
		else
			g->ids[g->nids++] = slot->aux;
	}
}

/* Does client k have something in what g found on log li (or from before)? */
static bool tka__wake_wants(const struct tka_ws_client *k, unsigned li, const struct tka_wake_log *g)
{
	if (k->next[li] != 0 && k->next[li] <= g->from)
		return true; /* behind from before: catching up */
	if (!g->any)
		return false;
	if (g->many || k->next[li] == 0)
		return true;
	if (g->gap && !k->finnhub && (k->sub.channels & (1ull << li)))
		return true;
	if (k->sub.all_symbols)
		return g->nids > 0;
	for (uint32_t i = 0; i < g->nids; i++)
		if (tka__wants(k, g->ids[i]))
			return true;
	return false;
}

void tka_ws_wake(struct tka_ws *w, bool all)
{
	static struct tka_wake_log g[TKA_WS_LOGS];

	for (unsigned li = 0; li < w->nlogs; li++)
		tka__wake_scan(w, li, all, &g[li]);
	for (unsigned c = 0; c < w->clients; c++) {
		struct tka_ws_client *k = w->list[c];
		bool want_quotes = k->sub.channels & (1ull << TKA_WS_QUOTES);
		bool wake = all || k->ctl_len > 0 || k->folded > 0 || k->close_slow || k->nqpend > 0;

		tka__resolve_if_grown(w, k);
		for (unsigned li = 0; li < w->nlogs && !wake; li++)
			if ((k->sub.channels & (1ull << li)) || (w->log[li].kind == TKA_WS_TICKS && want_quotes))
				wake = tka__wake_wants(k, li, &g[li]);
		if (wake) {
			lws_callback_on_writable(k->wsi);
			continue;
		}
		/* Nothing for it: its positions pass what it does not want, so
		 * that a quiet symbol's subscriber is never "behind". */
		for (unsigned li = 0; li < w->nlogs; li++)
			if (k->next[li] > g[li].from && k->next[li] <= g[li].head)
				k->next[li] = g[li].head + 1;
	}
}

/* ---------------------------------------------------------- lws glue */

static int tka__send(struct lws *wsi, char *buf, size_t len)
{
	return lws_write(wsi, (unsigned char *)buf, len, LWS_WRITE_TEXT) < 0 ? -1 : 0;
}

static int tka__writable(struct tka_ws *w, struct lws *wsi, struct tka_ws_client *k)
{
	static char out[LWS_PRE + TKA_WS_FRAME];
	int64_t now = tk_mono_coarse_ns();
	struct tk_buf f;
	bool more;
	unsigned n;

	/* lws calls this only when the socket takes more: a client that has
	 * not read for TKA_WS_STUCK_S is closed by lws itself.  Re-armed once a
	 * second at most: lws keeps its timeouts in a sorted list (an insert
	 * is O(clients)). */
	if (now - k->last_writable >= 1000000000LL) {
		lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, TKA_WS_STUCK_S);
		k->last_writable = now;
	}
	if (k->close_slow && k->ctl_len == 0) {
		const char *why = k->close_why != NULL ? k->close_why : "too slow";

		lws_close_reason(wsi, (enum lws_close_status)1013 /* try again later */, (unsigned char *)why,
				 strlen(why));
		tka__count(w, TKA_WS_CLOSED_SLOW);
		return -1;
	}
	if (k->folded > 0 && k->ctl_len < TKA_WS_CTL_SOFT) {
		char note[160];
		struct tk_buf m;

		tk_buf_init(&m, note, sizeof(note));
		tk_buf_printf(&m, "{\"type\":\"error\",\"%s\":\"%llu more messages refused (too many to "
			      "answer one by one)\"}", k->finnhub ? "msg" : "error", (unsigned long long)k->folded);
		k->folded = 0;
		tka__ctl(k, m.p, m.len);
	}
	if (now - k->last_ping_ns >= TKA_WS_PING_NS) {
		/* The server's ping, as a message (Finnhub's own way). */
		k->last_ping_ns = now;
		tk_buf_init(&f, out + LWS_PRE, TKA_WS_FRAME);
		if (k->finnhub)
			tk_buf_puts(&f, "{\"type\":\"ping\"}");
		else
			tk_buf_printf(&f, "[{\"type\":\"ping\",\"ts\":%lld}]", (long long)(tk_wall_ns() / 1000000));
		if (tka__send(wsi, out + LWS_PRE, f.len) < 0)
			return -1;
		lws_callback_on_writable(wsi);
		return 0;
	}
	tk_buf_init(&f, out + LWS_PRE, TKA_WS_FRAME);
	if (k->finnhub && k->ctl_len > 0) {
		/* Finnhub's errors go in frames of their own, the first line now */
		const char *nl = memchr(k->ctl, '\n', k->ctl_len);
		size_t first = nl != NULL ? (size_t)(nl - k->ctl) : k->ctl_len;

		tk_buf_put(&f, k->ctl, first);
		k->ack_pending = false; /* (Finnhub's protocol has no acknowledgement) */
		k->ctl_len -= nl != NULL ? first + 1 : first;
		memmove(k->ctl, k->ctl + (nl != NULL ? first + 1 : first), k->ctl_len);
		if (tka__send(wsi, out + LWS_PRE, f.len) < 0)
			return -1;
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (k->close_slow) {
		/* its last gap first, then the close */
		tk_buf_puts(&f, "[");
		tk_buf_put(&f, k->ctl, k->ctl_len);
		tk_buf_puts(&f, "]");
		k->ctl_len = 0;
		k->ack_pending = false;
		if (tka__send(wsi, out + LWS_PRE, f.len) < 0)
			return -1;
		lws_callback_on_writable(wsi);
		return 0;
	}
	n = tka__frame(w, k, &f, TKA_WS_FRAME, &more, now);
	if (n > 0) {
		if (tka__send(wsi, out + LWS_PRE, f.len) < 0)
			return -1;
		tka__count(w, TKA_WS_FRAMES);
	}
	if (more || k->ctl_len > 0)
		lws_callback_on_writable(wsi);
	return 0;
}

/* An incoming message, whole: applied, and its answer queued. */
static void tka__receive(struct tka_ws *w, struct lws *wsi, struct tka_ws_client *k)
{
	static char mem[TKA_WS_SYMBOLS_MAX * 40 + 1024]; /* an ack naming every symbol */
	struct tk_buf ack;
	uint32_t before = k->sub.nsym;
	uint64_t left, full, retry;

	tk_buf_init(&ack, mem, sizeof(mem));
	if (!tka_bucket_take(&k->msgs, TKA_WS_MSG_RATE, TKA_WS_MSG_BURST, tk_mono_coarse_ns(), &left, &full,
			     &retry)) {
		/* Not even parsed: a flood costs the loop a token bucket each. */
		tka__error(&ack, k->finnhub, "too many messages: %s a second at most (1000 at once)", "100");
		tka__count(w, TKA_WS_BAD_MESSAGES);
	} else if (tka_ws_apply(w, k->finnhub, k->rx, k->rx_len, &k->sub, &ack) < 0) {
		tka__count(w, TKA_WS_BAD_MESSAGES);
	}
	if (k->sub.nsym != before)
		tka__resolve(w, k); /* (names not known yet: looked up again when the table grows) */
	/* A log no longer followed starts from the newest record again if it
	 * is subscribed later, instead of from where it was left. */
	for (unsigned li = 0; li < w->nlogs; li++)
		if (!(k->sub.channels & (1ull << li)) &&
		    !(w->log[li].kind == TKA_WS_TICKS && (k->sub.channels & (1ull << TKA_WS_QUOTES))))
			k->next[li] = 0;
	if (ack.len > 0 && !ack.overflow)
		tka__answer_ctl(k, ack.p, ack.len);
	lws_callback_on_writable(wsi);
}

int tka_ws_callback(struct tka_ws *w, struct lws *wsi, int reason, void **slot, void *in, size_t len)
{
	struct tka_ws_client **pk = (struct tka_ws_client **)slot;
	struct tka_ws_client *k = pk != NULL ? *pk : NULL;

	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
		char uri[64];

		if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) < 0 ||
		    (strcmp(uri, "/ws") != 0 && strcmp(uri, "/ws/finnhub") != 0)) {
			tka__count(w, TKA_WS_REFUSED);
			return 1; /* no stream at this path */
		}
		if (w->clients >= w->max_clients) {
			tka__count(w, TKA_WS_REFUSED);
			return 1;
		}
		if (w->max_per_address > 0) {
			const struct tka_ws_addr *a = tka__addr(w, wsi);

			if (a != NULL && a->n >= w->max_per_address) {
				tka__count(w, TKA_WS_REFUSED);
				return 1;
			}
		}
		return 0;
	}
	case LWS_CALLBACK_ESTABLISHED: {
		char uri[64];

		if (pk == NULL || w->clients >= w->max_clients || (k = calloc(1, sizeof(*k))) == NULL)
			return -1;
		k->wsi = wsi;
		k->at = w->clients;
		w->list[k->at] = k; /* (the filter keeps clients under max_clients) */
		k->finnhub = lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) > 0 &&
			     strcmp(uri, "/ws/finnhub") == 0;
		k->last_ping_ns = tk_mono_coarse_ns();
		k->lap_t0 = k->last_ping_ns;
		k->last_writable = k->last_ping_ns;
		lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, TKA_WS_STUCK_S);
		if (w->max_per_address > 0 && (k->from = tka__addr(w, wsi)) != NULL)
			k->from->n++;
		*pk = k;
		w->clients++;
		__atomic_store_n(&w->c->ws[TKA_WS_CLIENTS], w->clients, __ATOMIC_RELAXED);
		return 0;
	}
	case LWS_CALLBACK_RECEIVE:
		if (k == NULL)
			return -1;
		if (k->rx == NULL && (k->rx = malloc(TKA_WS_RX_MAX + 1)) == NULL)
			return -1;
		if (k->rx_len + len > TKA_WS_RX_MAX) {
			static const char why[] = "a message of more than 16384 bytes";

			lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)why,
					 sizeof(why) - 1);
			return -1;
		}
		memcpy(k->rx + k->rx_len, in, len);
		k->rx_len += len;
		if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
			tka__receive(w, wsi, k);
			k->rx_len = 0;
		}
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return k != NULL ? tka__writable(w, wsi, k) : -1;
	case LWS_CALLBACK_CLOSED:
		if (k != NULL) {
			free(k->ids);
			free(k->rx);
			free(k->ctl);
			if (k->from != NULL)
				k->from->n--;
			if (tk_mono_coarse_ns() - k->last_writable >= (TKA_WS_STUCK_S - 1) * 1000000000LL)
				tka__count(w, TKA_WS_CLOSED_SLOW); /* lws's timeout: it stopped reading */
			w->list[k->at] = w->list[w->clients - 1];
			w->list[k->at]->at = k->at;
			free(k);
			*pk = NULL;
			w->clients--;
			__atomic_store_n(&w->c->ws[TKA_WS_CLIENTS], w->clients, __ATOMIC_RELAXED);
		}
		return 0;
	default:
		return 0;
	}
}
