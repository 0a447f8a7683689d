/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sqn-chat: replay a third-party host's upgrade sequence (a chat script from
 * fixtures/hosts/) against a serial port, byte for byte as that host does.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "tool.h"

static const char harness_chat_usage[] =
    "usage: sqn-chat [--var NAME=VALUE]... [--timeout-scale X] [--sleep-scale X]\n"
    "                [--transcript FILE] SCRIPT PORT\n"
    "\n"
    "Runs the chat SCRIPT (one step per line, see harness/chat/chat.h) against\n"
    "the serial port PORT (a sqn-sim pty or a real UART) and prints what the\n"
    "host tool would print.\n"
    "\n"
    "  --var NAME=VALUE     set ${NAME} (e.g. PACKAGE, UPDATER)\n"
    "  --timeout-scale X    multiply every wait bound by X (default 1)\n"
    "  --sleep-scale X      multiply the host's sleeps by X (default 1; use a\n"
    "                       small value against sqn-sim --time-scale 0)\n"
    "  --transcript FILE    log every byte sent (>) and received (<)\n"
    "  --help               this text\n"
    "  --version            print the version and exit\n"
    "\n"
    "exit status: 0 the script completed, 1 it failed (message on stderr),\n"
    "             2 usage or script error (file:line), 3 port or file error\n";

static double harness_chat_scale(const char *opt, const char *v) {
  char *end;
  errno = 0;
  double d = strtod(v, &end);
  if (errno || end == v || *end || !(d >= 0) || d > 1e6) {
    fprintf(stderr, "sqn-chat: %s %s: expected a number >= 0\n", opt, v);
    exit(HARNESS_CHAT_EXIT_USAGE);
  }
  return d;
}

int main(int argc, char **argv) {
  if (sqn_tool_wants_version(argc, argv)) {
    sqn_tool_print_version(stdout, "sqn-chat");
    return 0;
  }
  enum { OPT_VAR = 256, OPT_TSCALE, OPT_SSCALE, OPT_TRANSCRIPT, OPT_HELP };
  static const struct option opts[] = {
      {"var", required_argument, NULL, OPT_VAR},
      {"timeout-scale", required_argument, NULL, OPT_TSCALE},
      {"sleep-scale", required_argument, NULL, OPT_SSCALE},
      {"transcript", required_argument, NULL, OPT_TRANSCRIPT},
      {"help", no_argument, NULL, OPT_HELP},
      {NULL, 0, NULL, 0}};
  struct harness_chat_opts o = {.timeout_scale = 1, .sleep_scale = 1,
                                .out = stdout};
  const char **vars = calloc((size_t)argc, sizeof *vars);
  const char *transcript = NULL;
  int c, rc;
  char err[1024];

  if (!vars)
    return HARNESS_CHAT_EXIT_IO;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case OPT_VAR: vars[o.nvars++] = optarg; break;
    case OPT_TSCALE: o.timeout_scale = harness_chat_scale("--timeout-scale", optarg); break;
    case OPT_SSCALE: o.sleep_scale = harness_chat_scale("--sleep-scale", optarg); break;
    case OPT_TRANSCRIPT: transcript = optarg; break;
    case 'h':
    case OPT_HELP:
      fputs(harness_chat_usage, stdout);
      free(vars);
      return HARNESS_CHAT_EXIT_OK;
    default:
      fputs(harness_chat_usage, stderr);
      free(vars);
      return HARNESS_CHAT_EXIT_USAGE;
    }
  }
  o.vars = vars;
  if (argc - optind != 2) {
    fprintf(stderr, "sqn-chat: expected SCRIPT and PORT\n%s",
            harness_chat_usage);
    free(vars);
    return HARNESS_CHAT_EXIT_USAGE;
  }
  struct harness_chat_script *s = harness_chat_load(argv[optind], err,
                                                    sizeof err);
  if (!s) {
    fprintf(stderr, "sqn-chat: %s\n", err);
    free(vars);
    return HARNESS_CHAT_EXIT_USAGE;
  }
  if (transcript) {
    o.transcript = fopen(transcript, "w");
    if (!o.transcript) {
      fprintf(stderr, "sqn-chat: --transcript %s: %s\n", transcript,
              strerror(errno));
      harness_chat_free(s);
      free(vars);
      return HARNESS_CHAT_EXIT_IO;
    }
  }
  rc = harness_chat_run(s, argv[optind + 1], &o, err, sizeof err);
  if (rc != HARNESS_CHAT_EXIT_OK)
    fprintf(stderr, "%s\n", err);
  if (o.transcript)
    fclose(o.transcript);
  harness_chat_free(s);
  free(vars);
  return rc;
}
