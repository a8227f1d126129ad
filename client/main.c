/* angoractl: the command-line client of angorad. Parses the command line, finds the server and
 * the token, runs one command and exits with its documented code (see angoractl(1)). */
#include "ctl.h"

#include "ag_error.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --json among the options (before any "--"), for errors found before the parse completes */
static int wants_json(int argc, char **argv) {
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (!strcmp(argv[i], "--json")) {
            return 1;
        }
    }
    return 0;
}

/* an error found outside a command, as text or (with --json) one JSON line on stderr; returns
 * code */
static int main_error(int json, int code, const char *msg) {
    if (json) {
        ctl_json_error_print(stderr, "error",
                             json_pack("{s:s,s:i,s:s}", "message", msg, "exit_code", code,
                                       "exit_name", ctl_exit_name(code)));
    } else {
        fprintf(stderr, "angoractl: %s\n", msg);
    }
    return code;
}

int main(int argc, char **argv) {
    CtlArgs args;
    CtlCtx ctx = {0};
    char err[2048];
    int code;
    if (ctl_args_parse(argc, argv, &args, err, sizeof(err)) != 0) {
        return main_error(wants_json(argc, argv), CTL_EXIT_USAGE, err);
    }
    if (args.help) {
        ctl_usage_print(stdout, args.cmd);
        return CTL_EXIT_OK;
    }
    if (args.version && !args.cmd) {
        printf("angoractl %s\n", ANGORA_VERSION);
        return CTL_EXIT_OK;
    }
    if (!args.cmd && args.json) {
        return main_error(1, CTL_EXIT_USAGE, "no command given (see angoractl --help)");
    }
    if (!args.cmd) {
        ctl_usage_print(stderr, NULL);
        return CTL_EXIT_USAGE;
    }
    if (ctl_config_resolve(&args, &ctx.cfg, err, sizeof(err)) != 0) {
        /* completion stays quiet: its output lands in the user's prompt line */
        return CTL_COMMAND_HIDDEN(args.cmd) ? CTL_EXIT_USAGE
                                            : main_error(args.json, CTL_EXIT_USAGE, err);
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return main_error(args.json, CTL_EXIT_OTHER, "cannot initialise libcurl");
    }
    ctx.args = &args;
    ctx.out = stdout;
    ctx.err = stderr;
    code = ctl_run(&ctx);
    if (fflush(stdout) != 0 && code == CTL_EXIT_OK) {
        code = main_error(args.json, CTL_EXIT_OTHER, "cannot write the output");
    }
    curl_global_cleanup();
    return code;
}
