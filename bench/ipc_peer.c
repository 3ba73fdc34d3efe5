/* Reference peer for bench/ipc.ts: the same newline-delimited JSON exchange as mpp's IPC, in C.
 *   ipc_peer server PATH        accept one client at a time, answer each line
 *   ipc_peer client PATH N      N sequential round trips; prints "median_ns p99_ns"
 *   ipc_peer client PATH N all  the same, then every round-trip time in ns, one per line
 * The server copies the request id into {"id":ID,"ok":true,"result":"pong"} so the bytes on the
 * wire match what mpp sends for the "ping" command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) {
  long long x = *(const long long *)a, y = *(const long long *)b;
  return x < y ? -1 : x > y;
}

static int addr(struct sockaddr_un *sa, const char *path) {
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  strncpy(sa->sun_path, path, sizeof sa->sun_path - 1);
  return socket(AF_UNIX, SOCK_STREAM, 0);
}

static int serve(const char *path) {
  struct sockaddr_un sa;
  int s = addr(&sa, path);
  unlink(path);
  if (bind(s, (struct sockaddr *)&sa, sizeof sa) || listen(s, 16)) { perror("bind"); return 1; }
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    int c = accept(s, NULL, NULL);
    if (c < 0) continue;
    char buf[65536], out[512];
    size_t len = 0;
    for (;;) {
      ssize_t n = read(c, buf + len, sizeof buf - len);
      if (n <= 0) break;
      len += (size_t)n;
      char *nl;
      while ((nl = memchr(buf, '\n', len)) != NULL) {
        *nl = 0;
        char *id = strstr(buf, "\"id\":");
        long v = id ? strtol(id + 5, NULL, 10) : 0;
        int m = snprintf(out, sizeof out, "{\"id\":%ld,\"ok\":true,\"result\":\"pong\"}\n", v);
        if (write(c, out, (size_t)m) != m) break;
        size_t used = (size_t)(nl - buf) + 1;
        memmove(buf, nl + 1, len - used);
        len -= used;
      }
    }
    close(c);
  }
}

static int client(const char *path, int n, int all) {
  struct sockaddr_un sa;
  int s = addr(&sa, path);
  if (connect(s, (struct sockaddr *)&sa, sizeof sa)) { perror("connect"); return 1; }
  long long *t = malloc(sizeof(long long) * (size_t)n);
  char req[256], buf[4096];
  for (int i = 0; i < n; i++) {
    struct timespec a, b;
    int m = snprintf(req, sizeof req, "{\"v\":1,\"id\":%d,\"cmd\":\"ping\",\"args\":{}}\n", i + 1);
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (write(s, req, (size_t)m) != m) return 1;
    size_t len = 0;
    for (;;) {
      ssize_t r = read(s, buf + len, sizeof buf - len);
      if (r <= 0) return 1;
      len += (size_t)r;
      if (memchr(buf, '\n', len)) break;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    t[i] = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
  }
  if (all)
    for (int i = 0; i < n; i++) printf("%lld\n", t[i]);
  qsort(t, (size_t)n, sizeof *t, cmp);
  if (!all) printf("%lld %lld\n", t[n / 2], t[(n * 99) / 100]);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 3 && !strcmp(argv[1], "server")) return serve(argv[2]);
  if (argc >= 4 && !strcmp(argv[1], "client")) return client(argv[2], atoi(argv[3]), argc >= 5);
  fprintf(stderr, "usage: ipc_peer server PATH | client PATH N [all]\n");
  return 2;
}
