/* The kernel's floor for writing a set of stream files, for bench/reassembly_vs_tcpflow.ts:
 *   files_floor LIST DIR
 * LIST holds "SIZE NAME" lines (the files another tool wrote); each file is created in DIR with one
 * open, as few writes as its size allows (from one 16 MiB buffer) and one close: no reading, no
 * parsing, no reassembly. Whatever a tool does on top of this, it cannot write the same files in
 * less time than this costs on the same machine. Prints "FILES BYTES SECONDS". */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BUF (16 << 20)

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: files_floor LIST DIR\n");
    return 2;
  }
  FILE *list = fopen(argv[1], "r");
  if (list == NULL) {
    perror(argv[1]);
    return 1;
  }
  char *buf = malloc(BUF);
  if (buf == NULL) return 1;
  memset(buf, 'x', BUF);
  long long size, total = 0;
  long files = 0;
  char name[512], path[4096];
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  while (fscanf(list, "%lld %511s", &size, name) == 2) {
    snprintf(path, sizeof path, "%s/%s", argv[2], name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
      perror(path);
      return 1;
    }
    for (long long left = size; left > 0;) {
      ssize_t n = write(fd, buf, left > BUF ? BUF : (size_t)left);
      if (n <= 0) {
        perror(path);
        return 1;
      }
      left -= n;
    }
    close(fd);
    files++;
    total += size;
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%ld %lld %.3f\n", files, total, (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
  return 0;
}
