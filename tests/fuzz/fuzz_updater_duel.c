/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fuzzer plays the modem against libsqnup's updater (fuzz_duel.h):
 * every reply's fate, replies and garbage of its own, power cuts, faults.
 * The updater's invariants, after every step and on every write:
 *   - a package that fails the pre-flight check: not one byte is written;
 *   - no command that writes the modem's flash or switches its boot
 *     (AT+SMSWBOOT, AT+SMSTPU, AT+SMUPGRADE, AT+STP, AT^RESET, an STP
 *     frame other than RESET) before the updater has known the mode (an
 *     AT+SMOD? answer with +SMOD, or ERROR: the documented recovery boot;
 *     a later probe that reads nothing does not unlearn it), nor after it
 *     learned the modem is of another family (no --force);
 *   - while running, the next deadline is set and at most 16 minutes away
 *     (never a wait without bound);
 *   - it ends (within the faithful tail of the duel) with one DONE event
 *     carrying its result, a named one (sqn_err_name).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct duel;
static void duel_on_write(struct duel *d, const uint8_t *buf, size_t len);
#define DUEL_ON_WRITE(d, buf, len) duel_on_write((d), (buf), (len))
#include "fuzz_duel.h"

static bool duel_starts(const uint8_t *buf, size_t len, const char *s)
{
  size_t n = strlen(s);
  return len >= n && memcmp(buf, s, n) == 0;
}

static void duel_on_write(struct duel *d, const uint8_t *buf, size_t len)
{
  bool flash = duel_starts(buf, len, "AT+SMSWBOOT") ||
               duel_starts(buf, len, "AT+SMSTPU") ||
               duel_starts(buf, len, "AT+SMUPGRADE\r") ||
               duel_starts(buf, len, "AT+STP") ||
               duel_starts(buf, len, "AT^RESET") ||
               /* an STP request other than RESET (which only closes a
                * stale session, and writes nothing) */
               (len >= 5 && buf[0] == 0x66 && buf[1] == 0x61 &&
                buf[2] == 0x73 && buf[3] == 0x74 &&
                (buf[4] & 0x3f) != SQN_STP_OP_RESET);
  if (duel_cur_pkg == duel_bad_pkg) {
    fprintf(stderr, "duel: wrote %zu bytes for a package that fails its "
                    "check\n", len);
    abort();
  }
  if (!flash)
    return;
  /* Mode unknown: only the documented recovery case ("ERROR to
   * everything", update.h) may go on; an OK without +SMOD (a late reply
   * of an earlier command) is no answer at all. */
  static int allow_unknown = -1;
  if (allow_unknown < 0) /* to look past such a finding while it stands */
    allow_unknown = getenv("SQN_DUEL_ALLOW_UNKNOWN_SMOD") != NULL;
  if (!d->mode_known && !allow_unknown) {
    fprintf(stderr, "duel: '%.*s' written while the mode is unknown "
                    "(state %s)\n",
            (int)(len < 20 ? len : 20), (const char *)buf,
            sqn_update_state_name(d->u.state));
    abort();
  }
  if (d->u.modem.family && d->u.pkg.family &&
      d->u.modem.family != d->u.pkg.family) {
    fprintf(stderr, "duel: flash command after a family mismatch (modem "
                    "%d, package %d)\n",
            d->u.modem.family, d->u.pkg.family);
    abort();
  }
}

static void duel_check(struct duel *d)
{
  if (d->check_failed && d->u.wrote)
    abort();
  if (!sqn_update_done(&d->u)) {
    uint64_t dl = sqn_update_next_deadline(&d->u);
    if (dl == SQN_UPDATE_NEVER) {
      fprintf(stderr, "duel: waiting without a deadline in %s\n",
              sqn_update_state_name(d->u.state));
      abort();
    }
    if (dl > duel_now_ms(d) + DUEL_MAX_WAIT_MS) {
      fprintf(stderr, "duel: a wait of %llu ms in %s\n",
              (unsigned long long)(dl - duel_now_ms(d)),
              sqn_update_state_name(d->u.state));
      abort();
    }
    return;
  }
  int r = sqn_update_result(&d->u);
  const char *name = sqn_err_name(r);
  if (d->done_events != 1 || d->done_err != r || !name || !*name ||
      !strcmp(name, "?")) {
    fprintf(stderr, "duel: ended with result %d (%s), %d DONE events\n", r,
            name ? name : "(null)", d->done_events);
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  duel_run(data, size);
  return 0;
}
