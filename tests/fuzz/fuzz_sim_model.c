/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the modem model: the input is a little program of host actions
 * (raw bytes, canned AT lines, well-formed STP frames, time steps, power
 * cuts) run against a modem on a virtual clock. After every action the
 * invariants must hold: the mode is in range, the next deadline is not in
 * the past, and the flash serialises to JSON that loads back identically.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/fault.h"
#include "sim/modem.h"
#include "sim/state_file.h"
#include "sqnup/stp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_tx(void *user, const uint8_t *buf, size_t len)
{
  (void)user, (void)buf, (void)len;
}

static void fz_check(struct sim_modem *m, uint64_t now)
{
  enum sim_smod s = sim_modem_smod(m);
  if (s < SIM_SMOD_NONE || s > SIM_SMOD_RECOVERY)
    abort();
  if (sim_modem_next_deadline(m) < now)
    abort();
  const struct sim_state *st = sim_modem_state(m);
  char *text = sim_state_to_json(st);
  if (!text)
    abort();
  struct sim_state back;
  char err[256];
  if (sim_state_from_json(&back, text, err, sizeof(err))) {
    fprintf(stderr, "state does not reload: %s\n%s\n", err, text);
    abort();
  }
  char *again = sim_state_to_json(&back);
  if (!again || strcmp(again, text))
    abort();
  free(again);
  free(text);
  sim_state_release(&back);
}

static const char *const fz_lines[] = {
    "AT\r\n",         "ATE1\r",          "ATE0\r\n",
    "AT+SMOD?\r\n",   "AT+SMSWBOOT=3,1\r\n", "AT+SMSWBOOT=1,1\r\n",
    "AT+SMSWBOOT=0,1\r\n", "AT+SMSTPU=\"ON_THE_FLY\"\r\n", "AT+SMSTPU\r\n",
    "AT+SMUPGRADE\r\n", "AT+SMUPGRADE?\r\n", "AT^RESET\r\n",
    "AT+IPR=921600\n", "AT+STP\n",        "+++",
    "ATI1\r\n",       "AT!=\"showver\"\r\n", "AT+CFUN=4,1\r\n",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 2)
    return 0;
  struct sim_state st;
  sim_state_factory(&st, data[0] & 1 ? SIM_PROFILE_GM02S
                                     : SIM_PROFILE_MONARCH1);
  st.fff.valid = !(data[0] & 2);
  st.updater.valid = !(data[0] & 4);
  st.boot_select = (enum sim_boot)((data[0] >> 3) & 3);
  /* A UART config reset by an earlier upgrade (F22). */
  st.uart_baud = data[0] & 0x40 ? 115200 : 0;
  /* The test-only broken ordering must not break the invariants either. */
  struct sim_modem_config cfg = {
      .profile = st.profile, .state = &st, .time_scale = 1.0, .tx = fz_tx,
      .debug_flags = data[0] & 0x20 ? SIM_DEBUG_MARK_VALID_EARLY : 0};
  uint64_t now = 0;
  struct sim_modem *m = sim_modem_new(&cfg, now);
  sim_state_release(&st);
  if (!m)
    abort();
  if (data[1] & 1) {
    struct sim_fault f = {.when = SIM_FAULT_ON_STP_OP, .op = data[1] >> 6,
                          .action = (enum sim_fault_action)((data[1] >> 1) %
                                                            SIM_FAULT_DO_COUNT),
                          .count = 3, .delay_us = 500000};
    snprintf(f.text, sizeof(f.text), "+CPSMS: 1");
    sim_modem_add_fault(m, &f);
  }
  size_t i = 2;
  uint32_t tid = 0;
  while (i < size) {
    uint8_t c = data[i++];
    unsigned arg = c >> 3;
    switch (c & 7) {
    case 0:
    case 1: { /* raw bytes */
      size_t n = arg + 1 < size - i ? arg + 1 : size - i;
      sim_modem_feed(m, now, data + i, n);
      i += n;
      break;
    }
    case 2: /* time step: 0..3.1 s, sometimes a long one */
      now += arg == 31 ? 120000000ull : (uint64_t)arg * 100000u;
      sim_modem_tick(m, now);
      break;
    case 3: { /* a canned AT line */
      const char *l = fz_lines[arg % (sizeof(fz_lines) / sizeof(*fz_lines))];
      sim_modem_feed(m, now, (const uint8_t *)l, strlen(l));
      break;
    }
    case 4:
    case 5: { /* a well-formed STP request with a payload from the input */
      uint8_t frame[16 + 300];
      size_t n = arg * 9 < size - i ? arg * 9 : size - i;
      uint8_t op = (uint8_t)(c & 1 ? 3 : arg & 3);
      uint8_t pl[2];
      const uint8_t *p = data + i;
      if (op == 2) {
        pl[0] = 0;
        pl[1] = (uint8_t)(n ? n : 1);
        p = pl;
        n = 2;
      } else if (op < 2) {
        n = 0;
      }
      size_t fl = sqn_stp_encode(frame, sizeof(frame), SQN_STP_MAGIC_REQ, op,
                                 op ? 1 : 0, tid++, p, (uint16_t)n, 0);
      if (op == 3)
        i += n;
      sim_modem_feed(m, now, frame, fl);
      break;
    }
    case 6: /* power */
      if (arg & 1)
        sim_modem_power_cut(m, now);
      else
        sim_modem_power_on(m, now);
      break;
    case 7: /* host rate */
      sim_modem_set_host_baud(m, arg & 1 ? 0 : arg & 2 ? 115200 : 921600);
      break;
    }
    fz_check(m, now);
  }
  sim_modem_free(m);
  return 0;
}
