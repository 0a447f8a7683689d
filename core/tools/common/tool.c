/* SPDX-License-Identifier: Apache-2.0 */
/* sqn_tool: --version and the data directory for every tool (tool.h). */
#include "tool.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sqn_version.h"

#ifndef SQN_INSTALL_DATADIR
#define SQN_INSTALL_DATADIR "/usr/local/share/sqnup"
#endif

const char *sqn_tool_version(void) { return SQN_VERSION; }

const char *sqn_tool_git_describe(void) { return SQN_GIT_DESCRIBE; }

void sqn_tool_print_version(FILE *f, const char *prog) {
  const char *base = strrchr(prog, '/');
  base = base ? base + 1 : prog;
  if (SQN_GIT_DESCRIBE[0])
    fprintf(f, "%s %s (git %s)\n", base, SQN_VERSION, SQN_GIT_DESCRIBE);
  else
    fprintf(f, "%s %s\n", base, SQN_VERSION);
}

bool sqn_tool_wants_version(int argc, char **argv) {
  return argc >= 2 && !strcmp(argv[1], "--version");
}

static bool sqn_tool_is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *sqn_tool_datadir(char *out, size_t cap) {
  const char *env = getenv("SQNUP_DATADIR");
  if (env && *env) {
    snprintf(out, cap, "%s", env);
    return out;
  }
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n > 0) {
    exe[n] = '\0';
    for (int up = 0; up < 4; up++) {
      char *slash = strrchr(exe, '/');
      if (!slash)
        break;
      *slash = '\0';
      char cand[PATH_MAX + 32];
      snprintf(cand, sizeof(cand), "%s/share/sqnup/states", exe);
      if (sqn_tool_is_dir(cand)) {
        snprintf(out, cap, "%s/share/sqnup", exe);
        return out;
      }
    }
  }
  snprintf(out, cap, "%s", SQN_INSTALL_DATADIR);
  return out;
}
