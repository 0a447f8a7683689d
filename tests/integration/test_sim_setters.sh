#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The modem model's state variables (power, smod, link) change only in
# their setters (sim_set_power, sim_set_smod, sim_set_link in modem.c),
# and the model (sim_model) includes no file-format library nor the
# headers of sim_files (the state file, fault YAML and traces;
# docs/design.md).
root=${1:?usage: test_sim_setters.sh SOURCE_DIR}
model=$root/sim/src/model
rc=0
bad=$(grep -nE '\b(pwr\.power|pwr\.smod|at\.link) *(=[^=]|\+=|-=)' \
        "$model"/*.c |
      grep -vE '/modem\.c:[0-9]+:  m->(pwr\.power = p|pwr\.smod = s|at\.link = l);$')
if [ -n "$bad" ]; then
  echo "assigned outside its setter:"
  echo "$bad"
  rc=1
fi
inc=$(grep -nE '#include *[<"](jansson|cyaml|sim/state_file\.h|sim/fault_yaml\.h|sim/tracefile\.h)' \
        "$model"/*.c "$model"/*.h \
        "$root"/sim/include/sim/modem.h "$root"/sim/include/sim/state.h \
        "$root"/sim/include/sim/fault.h)
if [ -n "$inc" ]; then
  echo "the model includes a file-format library (that is sim_files'):"
  echo "$inc"
  rc=1
fi
[ $rc -eq 0 ] && echo "setters only; no jansson or libcyaml in the model"
exit $rc
