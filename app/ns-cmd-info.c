/* placeholder: replaced by the data layer work */
#include "ns-cmd.h"
#include <stdio.h>
int ns_cmd_info (int argc, char **argv) { fprintf (stderr, "info: not yet\n"); return 1; }
int ns_cmd_eval (int argc, char **argv) { fprintf (stderr, "eval: not yet\n"); return 1; }
