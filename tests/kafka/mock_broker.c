/* tickd-mock-kafka: a Kafka test broker in a process of its own.
 *
 * librdkafka's mock cluster (<librdkafka/rdkafka_mock.h>, 2.0.2) runs inside
 * this process, so it outlives the producers and consumers a test kills and
 * restarts.  Faults are injected through a Unix stream socket (--control):
 * one command a line, one reply line a command, "ok ..." or "error <why>".
 * A reply comes after the mock cluster has applied the command (the mock's
 * calls wait for its own thread), so a test may act on "ok" at once.
 *
 *   tickd-mock-kafka [--brokers 3] [--partitions 4] [--replication R]
 *                    [--topics a,b,c] [--ready-file PATH] [--control PATH]
 *                    [--debug]
 *   tickd-mock-kafka --control PATH --send 'CMD' [--send 'CMD'...]
 *                    [--timeout-ms 10000]
 *
 * The second form is the client: it sends each command, prints each reply,
 * and exits 0 when every reply is "ok", 1 when one is "error", 2 when the
 * broker cannot be reached.  Commands: see usage_commands below.
 *
 * The 2.0.2 mock keeps per partition at most 5 MiB of record batches and at
 * most 100000 batches (rd_kafka_mock_partition_init: max_size 1024*1024*5,
 * max_cnt 100000), dropping the oldest batch first: the log start offset
 * moves.  It ignores acks (no replication is modelled) and checks producer
 * sequences only for transactional producers.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define PROG "tickd-mock-kafka"
#define MAX_TOPICS 64
#define MAX_CLIENTS 16
#define LINE_MAX_LEN 1024
#define MAX_BROKERS 32
#define MAX_PARTITIONS 1024
#define MAX_RTT_MS 600000
#define MAX_ERR_COUNT 1000000
#define API_KEY_LIMIT 59 /* RD_KAFKAP__NUM in 2.0.2: keys 0..58 */

static const char usage_commands[] =
  "commands (one a line; BROKER is 1..N, or 'all' / -1 where allowed):\n"
  "  ping                              ok pong\n"
  "  bootstrap                         ok <bootstrap.servers>\n"
  "  down [BROKER|all]                 disconnect and refuse connections (default all)\n"
  "  up [BROKER|all]                   accept connections again (default all)\n"
  "  rtt [BROKER|all] MS               delay every response by MS (0 clears)\n"
  "  errors APIKEY CODE COUNT          the next COUNT requests of APIKEY (any broker) fail with CODE\n"
  "  broker-errors BROKER APIKEY CODE COUNT [RTT_MS]   the same on one broker, optional delay\n"
  "  clear APIKEY                      drop the cluster-wide errors still queued for APIKEY\n"
  "  leader TOPIC PARTITION BROKER     move the partition's leader (-1: no leader)\n"
  "  create TOPIC PARTITIONS [RF]      create one more topic\n"
  "  topics                            ok <topic>:<partitions> ...\n"
  "  help                              this list, on stderr of the broker; ok\n"
  "  quit                              ok, then the broker exits as on SIGTERM\n"
  "APIKEY: a number 0..58 or a name (Produce, Fetch, ListOffsets, Metadata, OffsetCommit,\n"
  "  OffsetFetch, FindCoordinator, JoinGroup, Heartbeat, LeaveGroup, SyncGroup, ApiVersion,\n"
  "  InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, TxnOffsetCommit).\n"
  "CODE: a number or a librdkafka error name (NOT_LEADER_FOR_PARTITION, _TRANSPORT,\n"
  "  RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, ...).\n";

static void usage(FILE *f) {
  fprintf(f,
          "usage: " PROG " [--brokers N] [--partitions N] [--replication N] [--topics a,b,c]\n"
          "                        [--ready-file PATH] [--control PATH] [--debug]\n"
          "       " PROG " --control PATH --send CMD [--send CMD ...] [--timeout-ms MS]\n"
          "The broker writes its bootstrap.servers to stdout and --ready-file (atomically),\n"
          "then runs until SIGTERM, SIGINT or 'quit'.\n%s",
          usage_commands);
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char stamp[32];
  strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "%s.%03ld " PROG ": %s\n", stamp, ts.tv_nsec / 1000000, msg);
}

/* ---- strict number parsing ------------------------------------------------ */

static bool parse_long(const char *s, long lo, long hi, long *out) {
  if (!s || !*s)
    return false;
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || *end || end == s || v < lo || v > hi)
    return false;
  *out = v;
  return true;
}

/* ---- the broker's state ----------------------------------------------------- */

struct topic {
  char name[250];
  int partitions;
};

static struct {
  rd_kafka_t *rk;
  rd_kafka_mock_cluster_t *mc;
  int brokers;
  int replication;
  struct topic topics[MAX_TOPICS];
  int ntopics;
  bool quit;
} B;

static bool topic_name_ok(const char *t) {
  size_t n = strlen(t);
  if (n < 1 || n > 249 || !strcmp(t, ".") || !strcmp(t, ".."))
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = t[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-'))
      return false;
  }
  return true;
}

static const struct topic *topic_find(const char *name) {
  for (int i = 0; i < B.ntopics; i++)
    if (!strcmp(B.topics[i].name, name))
      return &B.topics[i];
  return NULL;
}

/* Creates a topic; on failure writes why into err. */
static bool topic_create(const char *name, int partitions, int rf, char *err, size_t errsz) {
  if (!topic_name_ok(name)) {
    snprintf(err, errsz, "bad topic name '%s' (1-249 of [A-Za-z0-9._-])", name);
    return false;
  }
  if (topic_find(name)) {
    snprintf(err, errsz, "topic %s exists", name);
    return false;
  }
  if (B.ntopics == MAX_TOPICS) {
    snprintf(err, errsz, "too many topics (at most %d)", MAX_TOPICS);
    return false;
  }
  rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(B.mc, name, partitions, rf);
  if (e) {
    snprintf(err, errsz, "creating %s: %s", name, rd_kafka_err2str(e));
    return false;
  }
  struct topic *t = &B.topics[B.ntopics++];
  snprintf(t->name, sizeof t->name, "%s", name);
  t->partitions = partitions;
  return true;
}

/* ---- names of API keys and error codes ------------------------------------- */

static const struct {
  const char *name;
  int key;
} api_names[] = {
  {"Produce", 0},         {"Fetch", 1},           {"ListOffsets", 2},
  {"Metadata", 3},        {"OffsetCommit", 8},    {"OffsetFetch", 9},
  {"FindCoordinator", 10}, {"JoinGroup", 11},     {"Heartbeat", 12},
  {"LeaveGroup", 13},     {"SyncGroup", 14},      {"ApiVersion", 18},
  {"ApiVersions", 18},    {"InitProducerId", 22}, {"AddPartitionsToTxn", 24},
  {"AddOffsetsToTxn", 25}, {"EndTxn", 26},        {"TxnOffsetCommit", 28},
};

static bool parse_api_key(const char *s, int16_t *out) {
  long v;
  if (parse_long(s, 0, API_KEY_LIMIT - 1, &v)) {
    *out = (int16_t)v;
    return true;
  }
  for (size_t i = 0; i < sizeof api_names / sizeof api_names[0]; i++)
    if (!strcasecmp(s, api_names[i].name)) {
      *out = (int16_t)api_names[i].key;
      return true;
    }
  return false;
}

/* A number or a name as rd_kafka_get_err_descs() lists it, with or without
 * the RD_KAFKA_RESP_ERR_ prefix; only codes librdkafka knows. */
static bool parse_err_code(const char *s, rd_kafka_resp_err_t *out) {
  const struct rd_kafka_err_desc *descs;
  size_t n;
  rd_kafka_get_err_descs(&descs, &n);
  const char *name = s;
  if (!strncasecmp(name, "RD_KAFKA_RESP_ERR_", 18))
    name += 18;
  long v;
  bool numeric = parse_long(s, INT_MIN, INT_MAX, &v);
  for (size_t i = 0; i < n; i++) {
    if (!descs[i].name)
      continue;
    if ((numeric && descs[i].code == (rd_kafka_resp_err_t)v) ||
        (!numeric && !strcasecmp(descs[i].name, name))) {
      *out = descs[i].code;
      return true;
    }
  }
  return false;
}

/* BROKER: 1..brokers, or 'all' / -1 when allow_all. */
static bool parse_broker(const char *s, bool allow_all, int32_t *out) {
  if (allow_all && (!strcasecmp(s, "all") || !strcmp(s, "-1"))) {
    *out = -1;
    return true;
  }
  long v;
  if (!parse_long(s, 1, B.brokers, &v))
    return false;
  *out = (int32_t)v;
  return true;
}

/* ---- commands --------------------------------------------------------------- */

#define REPLY(...) snprintf(reply, replysz, __VA_ARGS__)

static void do_command(char *line, char *reply, size_t replysz) {
  char *argv[8];
  int argc = 0;
  char *save = NULL;
  for (char *tok = strtok_r(line, " \t\r", &save); tok; tok = strtok_r(NULL, " \t\r", &save)) {
    if (argc == (int)(sizeof argv / sizeof argv[0])) {
      REPLY("error too many arguments");
      return;
    }
    argv[argc++] = tok;
  }
  if (argc == 0) {
    REPLY("error empty command");
    return;
  }
  const char *cmd = argv[0];
  rd_kafka_resp_err_t e;
  int32_t broker;

  if (!strcmp(cmd, "ping") && argc == 1) {
    REPLY("ok pong");
  } else if (!strcmp(cmd, "bootstrap") && argc == 1) {
    REPLY("ok %s", rd_kafka_mock_cluster_bootstraps(B.mc));
  } else if (!strcmp(cmd, "help") && argc == 1) {
    fputs(usage_commands, stderr);
    REPLY("ok see the broker's stderr");
  } else if (!strcmp(cmd, "quit") && argc == 1) {
    B.quit = true;
    REPLY("ok quitting");
  } else if (!strcmp(cmd, "topics") && argc == 1) {
    size_t off = (size_t)snprintf(reply, replysz, "ok");
    for (int i = 0; i < B.ntopics && off < replysz; i++)
      off += (size_t)snprintf(reply + off, replysz - off, " %s:%d", B.topics[i].name,
                              B.topics[i].partitions);
  } else if ((!strcmp(cmd, "down") || !strcmp(cmd, "up")) && argc <= 2) {
    bool up = !strcmp(cmd, "up");
    broker = -1;
    if (argc == 2 && !parse_broker(argv[1], true, &broker)) {
      REPLY("error bad broker '%s' (1..%d or all)", argv[1], B.brokers);
      return;
    }
    e = up ? rd_kafka_mock_broker_set_up(B.mc, broker) : rd_kafka_mock_broker_set_down(B.mc, broker);
    if (e)
      REPLY("error %s: %s", cmd, rd_kafka_err2str(e));
    else if (broker == -1)
      REPLY("ok %s all", cmd);
    else
      REPLY("ok %s %d", cmd, (int)broker);
  } else if (!strcmp(cmd, "rtt") && (argc == 2 || argc == 3)) {
    long ms;
    broker = -1;
    if (argc == 3 && !parse_broker(argv[1], true, &broker)) {
      REPLY("error bad broker '%s' (1..%d or all)", argv[1], B.brokers);
      return;
    }
    if (!parse_long(argv[argc - 1], 0, MAX_RTT_MS, &ms)) {
      REPLY("error bad rtt '%s' (0..%d ms)", argv[argc - 1], MAX_RTT_MS);
      return;
    }
    e = rd_kafka_mock_broker_set_rtt(B.mc, broker, (int)ms);
    if (e)
      REPLY("error rtt: %s", rd_kafka_err2str(e));
    else if (broker == -1)
      REPLY("ok rtt all %ld", ms);
    else
      REPLY("ok rtt %d %ld", (int)broker, ms);
  } else if (!strcmp(cmd, "errors") && argc == 4) {
    int16_t key;
    rd_kafka_resp_err_t code;
    long cnt;
    if (!parse_api_key(argv[1], &key)) {
      REPLY("error bad api key '%s'", argv[1]);
    } else if (!parse_err_code(argv[2], &code)) {
      REPLY("error unknown error code '%s'", argv[2]);
    } else if (!parse_long(argv[3], 1, MAX_ERR_COUNT, &cnt)) {
      REPLY("error bad count '%s' (1..%d)", argv[3], MAX_ERR_COUNT);
    } else {
      rd_kafka_resp_err_t *errs = malloc((size_t)cnt * sizeof *errs);
      if (!errs) {
        REPLY("error out of memory");
        return;
      }
      for (long i = 0; i < cnt; i++)
        errs[i] = code;
      rd_kafka_mock_push_request_errors_array(B.mc, key, (size_t)cnt, errs);
      free(errs);
      REPLY("ok errors %d %s %ld", (int)key, rd_kafka_err2name(code), cnt);
    }
  } else if (!strcmp(cmd, "broker-errors") && (argc == 5 || argc == 6)) {
    int16_t key;
    rd_kafka_resp_err_t code;
    long cnt, rtt = 0;
    if (!parse_broker(argv[1], false, &broker)) {
      REPLY("error bad broker '%s' (1..%d)", argv[1], B.brokers);
    } else if (!parse_api_key(argv[2], &key)) {
      REPLY("error bad api key '%s'", argv[2]);
    } else if (!parse_err_code(argv[3], &code)) {
      REPLY("error unknown error code '%s'", argv[3]);
    } else if (!parse_long(argv[4], 1, 100000, &cnt)) {
      REPLY("error bad count '%s' (1..100000)", argv[4]);
    } else if (argc == 6 && !parse_long(argv[5], 0, MAX_RTT_MS, &rtt)) {
      REPLY("error bad rtt '%s' (0..%d ms)", argv[5], MAX_RTT_MS);
    } else {
      /* 2.0.2 has no array form of the broker call: one tuple a call. */
      for (long i = 0; i < cnt; i++) {
        e = rd_kafka_mock_broker_push_request_error_rtts(B.mc, broker, key, 1, code, (int)rtt);
        if (e) {
          REPLY("error broker-errors: %s (after %ld)", rd_kafka_err2str(e), i);
          return;
        }
      }
      REPLY("ok broker-errors %d %d %s %ld %ld", (int)broker, (int)key, rd_kafka_err2name(code),
            cnt, rtt);
    }
  } else if (!strcmp(cmd, "clear") && argc == 2) {
    int16_t key;
    if (!parse_api_key(argv[1], &key)) {
      REPLY("error bad api key '%s'", argv[1]);
      return;
    }
    rd_kafka_mock_clear_request_errors(B.mc, key);
    REPLY("ok clear %d", (int)key);
  } else if (!strcmp(cmd, "leader") && argc == 4) {
    const struct topic *t = topic_find(argv[1]);
    long part;
    /* Checked here: the mock creates a missing topic, and a negative
     * partition would index before its array. */
    if (!t) {
      REPLY("error unknown topic '%s' (not made by --topics or create)", argv[1]);
    } else if (!parse_long(argv[2], 0, t->partitions - 1, &part)) {
      REPLY("error bad partition '%s' (0..%d)", argv[2], t->partitions - 1);
    } else if (!strcmp(argv[3], "-1")) {
      e = rd_kafka_mock_partition_set_leader(B.mc, t->name, (int32_t)part, -1);
      if (e)
        REPLY("error leader: %s", rd_kafka_err2str(e));
      else
        REPLY("ok leader %s %ld none", t->name, part);
    } else if (!parse_broker(argv[3], false, &broker)) {
      REPLY("error bad broker '%s' (1..%d or -1)", argv[3], B.brokers);
    } else {
      e = rd_kafka_mock_partition_set_leader(B.mc, t->name, (int32_t)part, broker);
      if (e)
        REPLY("error leader: %s", rd_kafka_err2str(e));
      else
        REPLY("ok leader %s %ld %d", t->name, part, (int)broker);
    }
  } else if (!strcmp(cmd, "create") && (argc == 3 || argc == 4)) {
    long parts, rf = B.replication;
    char why[512];
    if (!parse_long(argv[2], 1, MAX_PARTITIONS, &parts)) {
      REPLY("error bad partition count '%s' (1..%d)", argv[2], MAX_PARTITIONS);
    } else if (argc == 4 && !parse_long(argv[3], 1, B.brokers, &rf)) {
      REPLY("error bad replication factor '%s' (1..%d)", argv[3], B.brokers);
    } else if (!topic_create(argv[1], (int)parts, (int)rf, why, sizeof why)) {
      REPLY("error %s", why);
    } else {
      REPLY("ok create %s %ld %ld", argv[1], parts, rf);
    }
  } else {
    bool known = false;
    static const char *const names[] = {"ping", "bootstrap", "help", "quit", "topics", "down",
                                        "up", "rtt", "errors", "broker-errors", "clear", "leader",
                                        "create"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
      known |= !strcmp(cmd, names[i]);
    if (known)
      REPLY("error wrong number of arguments for '%s' (try help)", cmd);
    else
      REPLY("error unknown command '%.64s' (try help)", cmd);
  }
}

/* ---- the control socket ----------------------------------------------------- */

struct client {
  int fd;
  size_t len;
  bool overflow; /* the current line is too long: discard to its newline */
  char buf[LINE_MAX_LEN];
};

static struct client clients[MAX_CLIENTS];

static bool sun_path_set(struct sockaddr_un *sa, const char *path) {
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  if (strlen(path) >= sizeof sa->sun_path)
    return false;
  memcpy(sa->sun_path, path, strlen(path) + 1);
  return true;
}

static int control_listen(const char *path) {
  struct sockaddr_un sa;
  if (!sun_path_set(&sa, path)) {
    logf_("control path too long (at most %zu bytes): %s", sizeof sa.sun_path - 1, path);
    return -1;
  }
  struct stat st;
  if (lstat(path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      logf_("control path %s exists and is not a socket: not removing it", path);
      return -1;
    }
    unlink(path); /* a stale socket of an earlier run */
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    logf_("socket: %s", strerror(errno));
    return -1;
  }
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 16) < 0) {
    logf_("control socket %s: %s", path, strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

static void client_close(struct client *c) {
  close(c->fd);
  c->fd = -1;
  c->len = 0;
  c->overflow = false;
}

static void client_reply(struct client *c, const char *reply) {
  char out[LINE_MAX_LEN + 8];
  int n = snprintf(out, sizeof out, "%s\n", reply);
  if (n < 0)
    return;
  if ((size_t)n >= sizeof out) {
    n = (int)sizeof out - 1;
    out[n - 1] = '\n';
  }
  /* Replies are short; a client that does not read them is dropped. */
  ssize_t off = 0;
  while (off < n) {
    ssize_t w = send(c->fd, out + off, (size_t)(n - off), MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      struct pollfd p = {.fd = c->fd, .events = POLLOUT};
      if (poll(&p, 1, 1000) == 1)
        continue;
    }
    if (w <= 0) {
      client_close(c);
      return;
    }
    off += w;
  }
}

static void client_line(struct client *c, char *line) {
  char reply[LINE_MAX_LEN];
  char copy[LINE_MAX_LEN];
  snprintf(copy, sizeof copy, "%s", line);
  do_command(line, reply, sizeof reply);
  logf_("'%s' -> %s", copy, reply);
  client_reply(c, reply);
}

/* Reads what the client sent and runs each whole line. */
static void client_read(struct client *c) {
  for (;;) {
    ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    if (r <= 0) { /* EOF or error: a last line without a newline still counts */
      if (r == 0 && c->len > 0 && !c->overflow && c->len < sizeof c->buf) {
        c->buf[c->len] = '\0';
        client_line(c, c->buf);
        if (c->fd < 0)
          return;
      }
      client_close(c);
      return;
    }
    c->len += (size_t)r;
    size_t start = 0;
    for (size_t i = 0; i < c->len; i++) {
      if (c->buf[i] != '\n')
        continue;
      c->buf[i] = '\0';
      if (c->overflow) {
        c->overflow = false;
        client_reply(c, "error line too long");
      } else {
        client_line(c, c->buf + start);
      }
      if (c->fd < 0)
        return;
      start = i + 1;
    }
    memmove(c->buf, c->buf + start, c->len - start);
    c->len -= start;
    if (c->len == sizeof c->buf) { /* no newline in a full buffer */
      c->overflow = true;
      c->len = 0;
    }
    if (B.quit)
      return;
  }
}

/* ---- ready file --------------------------------------------------------------- */

static bool write_ready_file(const char *path, const char *servers) {
  char tmp[PATH_MAX];
  if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
    logf_("ready-file path too long");
    return false;
  }
  FILE *f = fopen(tmp, "w");
  if (!f) {
    logf_("ready-file %s: %s", tmp, strerror(errno));
    return false;
  }
  bool ok = fprintf(f, "%s\n", servers) > 0;
  ok = (fflush(f) == 0) && ok;
  ok = (fsync(fileno(f)) == 0) && ok;
  ok = (fclose(f) == 0) && ok;
  if (!ok || rename(tmp, path) != 0) {
    logf_("ready-file %s: %s", path, strerror(errno));
    unlink(tmp);
    return false;
  }
  return true;
}

/* ---- the client form -------------------------------------------------------- */

static int run_client(const char *path, char **cmds, int ncmds, long timeout_ms) {
  struct sockaddr_un sa;
  if (!sun_path_set(&sa, path)) {
    fprintf(stderr, PROG ": control path too long\n");
    return 2;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    fprintf(stderr, PROG ": cannot reach the broker at %s: %s\n", path, strerror(errno));
    if (fd >= 0)
      close(fd);
    return 2;
  }
  int rc = 0;
  char buf[LINE_MAX_LEN + 8];
  for (int i = 0; i < ncmds; i++) {
    if (strchr(cmds[i], '\n')) {
      fprintf(stderr, PROG ": a command is one line: '%s'\n", cmds[i]);
      rc = 1;
      break;
    }
    char line[LINE_MAX_LEN + 2];
    int n = snprintf(line, sizeof line, "%s\n", cmds[i]);
    if (n < 0 || (size_t)n >= sizeof line) {
      fprintf(stderr, PROG ": command too long\n");
      rc = 1;
      break;
    }
    if (send(fd, line, (size_t)n, MSG_NOSIGNAL) != n) {
      fprintf(stderr, PROG ": send: %s\n", strerror(errno));
      rc = 2;
      break;
    }
    size_t len = 0;
    bool got = false;
    while (!got) {
      struct pollfd p = {.fd = fd, .events = POLLIN};
      int pr = poll(&p, 1, (int)timeout_ms);
      if (pr < 0 && errno == EINTR)
        continue;
      if (pr <= 0) {
        fprintf(stderr, PROG ": no reply to '%s' within %ld ms\n", cmds[i], timeout_ms);
        close(fd);
        return 2;
      }
      ssize_t r = recv(fd, buf + len, sizeof buf - 1 - len, 0);
      if (r <= 0) {
        fprintf(stderr, PROG ": the broker closed the connection\n");
        close(fd);
        return 2;
      }
      len += (size_t)r;
      char *nl = memchr(buf, '\n', len);
      if (nl || len == sizeof buf - 1) {
        if (nl)
          *nl = '\0';
        else
          buf[len] = '\0';
        got = true;
      }
    }
    puts(buf);
    if (strncmp(buf, "ok", 2) != 0)
      rc = 1;
  }
  fflush(stdout);
  close(fd);
  return rc;
}

/* librdkafka's own log lines (the mock's, with --debug), in our format; the
 * hosting handle's warning that it has no bootstrap.servers is expected. */
static void rk_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  (void)rk;
  if (!strcmp(fac, "CONFWARN") && strstr(buf, "bootstrap.servers"))
    return;
  logf_("rdkafka %d %s: %s", level, fac, buf);
}

/* ---- main ----------------------------------------------------------------------- */

static int broker_main(int argc, char **argv, char **sends) {
  long brokers = 3, partitions = 4, replication = -1, timeout_ms = 10000;
  const char *topics = NULL, *ready = NULL, *control = NULL;
  bool debug = false;
  int nsends = 0;

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    bool takes = true;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--debug")) {
      debug = true;
      takes = false;
    } else if (strcmp(a, "--brokers") && strcmp(a, "--partitions") && strcmp(a, "--replication") &&
               strcmp(a, "--timeout-ms") && strcmp(a, "--topics") && strcmp(a, "--ready-file") &&
               strcmp(a, "--control") && strcmp(a, "--send")) {
      fprintf(stderr, PROG ": unknown option %s\n", a);
      usage(stderr);
      return 64;
    } else if (!v) {
      fprintf(stderr, PROG ": %s needs a value\n", a);
      return 64;
    } else if (!strcmp(a, "--brokers")) {
      if (!parse_long(v, 1, MAX_BROKERS, &brokers)) {
        fprintf(stderr, PROG ": --brokers: '%s' is not 1..%d\n", v, MAX_BROKERS);
        return 64;
      }
    } else if (!strcmp(a, "--partitions")) {
      if (!parse_long(v, 1, MAX_PARTITIONS, &partitions)) {
        fprintf(stderr, PROG ": --partitions: '%s' is not 1..%d\n", v, MAX_PARTITIONS);
        return 64;
      }
    } else if (!strcmp(a, "--replication")) {
      if (!parse_long(v, 1, MAX_BROKERS, &replication)) {
        fprintf(stderr, PROG ": --replication: '%s' is not 1..%d\n", v, MAX_BROKERS);
        return 64;
      }
    } else if (!strcmp(a, "--timeout-ms")) {
      if (!parse_long(v, 1, 600000, &timeout_ms)) {
        fprintf(stderr, PROG ": --timeout-ms: '%s' is not 1..600000\n", v);
        return 64;
      }
    } else if (!strcmp(a, "--topics")) {
      topics = v;
    } else if (!strcmp(a, "--ready-file")) {
      ready = v;
    } else if (!strcmp(a, "--control")) {
      control = v;
    } else if (!strcmp(a, "--send")) {
      sends[nsends++] = argv[i + 1];
    }
    if (takes)
      i++;
  }

  if (nsends > 0) {
    if (!control) {
      fprintf(stderr, PROG ": --send needs --control PATH\n");
      return 64;
    }
    return run_client(control, sends, nsends, timeout_ms);
  }
  if (replication == -1)
    replication = brokers < 3 ? brokers : 3;
  if (replication > brokers) {
    fprintf(stderr, PROG ": --replication %ld exceeds --brokers %ld\n", replication, brokers);
    return 64;
  }
  B.brokers = (int)brokers;
  B.replication = (int)replication;

  /* Signals are read from a signalfd; blocked before librdkafka starts its
   * threads, so they inherit the mask and only this loop sees them. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  if (sigprocmask(SIG_BLOCK, &sigs, NULL) != 0)
    return 1;
  signal(SIGPIPE, SIG_IGN);
  int sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) {
    logf_("signalfd: %s", strerror(errno));
    return 1;
  }

  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, rk_log);
  if (debug && rd_kafka_conf_set(conf, "debug", "mock,broker", errstr, sizeof errstr))
    logf_("debug: %s", errstr);
  /* The handle only hosts the cluster; it connects nowhere itself. */
  B.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!B.rk) {
    logf_("rd_kafka_new: %s", errstr);
    return 1;
  }
  B.mc = rd_kafka_mock_cluster_new(B.rk, B.brokers);
  if (!B.mc) {
    logf_("rd_kafka_mock_cluster_new failed");
    rd_kafka_destroy(B.rk);
    return 1;
  }

  int rc = 0;
  int lfd = -1;
  if (topics) {
    char *list = strdup(topics), *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t && rc == 0; t = strtok_r(NULL, ",", &save)) {
      if (!topic_create(t, (int)partitions, B.replication, errstr, sizeof errstr)) {
        logf_("--topics: %s", errstr);
        rc = 64;
      }
    }
    free(list);
  }
  if (rc == 0 && control && (lfd = control_listen(control)) < 0)
    rc = 1;

  const char *servers = rd_kafka_mock_cluster_bootstraps(B.mc);
  if (rc == 0 && ready && !write_ready_file(ready, servers))
    rc = 1;
  if (rc == 0) {
    printf("%s\n", servers);
    fflush(stdout);
    logf_("%d broker(s) at %s; %d topic(s) of %ld partition(s), replication %d; control %s", B.brokers,
          servers, B.ntopics, partitions, B.replication, control ? control : "(none)");
  }

  for (int i = 0; i < MAX_CLIENTS; i++)
    clients[i].fd = -1;

  while (rc == 0 && !B.quit) {
    struct pollfd pfd[2 + MAX_CLIENTS];
    int map[2 + MAX_CLIENTS];
    int n = 0;
    pfd[n] = (struct pollfd){.fd = sfd, .events = POLLIN};
    map[n++] = -1;
    if (lfd >= 0) {
      pfd[n] = (struct pollfd){.fd = lfd, .events = POLLIN};
      map[n++] = -2;
    }
    for (int i = 0; i < MAX_CLIENTS; i++)
      if (clients[i].fd >= 0) {
        pfd[n] = (struct pollfd){.fd = clients[i].fd, .events = POLLIN};
        map[n++] = i;
      }
    int pr = poll(pfd, (nfds_t)n, 1000);
    if (pr < 0) {
      if (errno == EINTR)
        continue;
      logf_("poll: %s", strerror(errno));
      rc = 1;
      break;
    }
    for (int k = 0; k < n && !B.quit; k++) {
      if (!pfd[k].revents)
        continue;
      if (map[k] == -1) {
        struct signalfd_siginfo si;
        if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
          logf_("signal %u: stopping", si.ssi_signo);
          B.quit = true;
        }
      } else if (map[k] == -2) {
        int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd < 0)
          continue;
        int slot = -1;
        for (int i = 0; i < MAX_CLIENTS && slot < 0; i++)
          if (clients[i].fd < 0)
            slot = i;
        if (slot < 0) {
          struct client tmp = {.fd = cfd};
          client_reply(&tmp, "error too many control connections");
          if (tmp.fd >= 0)
            close(cfd);
          continue;
        }
        clients[slot].fd = cfd;
        clients[slot].len = 0;
        clients[slot].overflow = false;
      } else {
        client_read(&clients[map[k]]);
      }
    }
  }

  for (int i = 0; i < MAX_CLIENTS; i++)
    if (clients[i].fd >= 0)
      client_close(&clients[i]);
  if (lfd >= 0) {
    close(lfd);
    unlink(control);
  }
  if (ready && rc == 0)
    unlink(ready);
  rd_kafka_mock_cluster_destroy(B.mc);
  rd_kafka_destroy(B.rk);
  close(sfd);
  logf_("stopped");
  return rc;
}

int main(int argc, char **argv) {
  char **sends = calloc((size_t)argc, sizeof *sends);
  if (!sends)
    return 1;
  int rc = broker_main(argc, argv, sends);
  free(sends);
  return rc;
}
