/* angoractl: the command-line client of angorad. Parses the command line, finds the server and
 * the token, runs one command and exits with its documented code (see angoractl(1)). */
#include "ctl.h"

#include "ag_error.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    CtlArgs args;
    CtlCtx ctx = {0};
    char err[2048];
    int code;
    if (ctl_args_parse(argc, argv, &args, err, sizeof(err)) != 0) {
        fprintf(stderr, "angoractl: %s\n", err);
        return CTL_EXIT_USAGE;
    }
    if (args.help) {
        ctl_usage_print(stdout, args.cmd);
        return CTL_EXIT_OK;
    }
    if (args.version && !args.cmd) {
        printf("angoractl %s\n", ANGORA_VERSION);
        return CTL_EXIT_OK;
    }
    if (!args.cmd) {
        ctl_usage_print(stderr, NULL);
        return CTL_EXIT_USAGE;
    }
    if (ctl_config_resolve(&args, &ctx.cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "angoractl: %s\n", err);
        return CTL_EXIT_USAGE;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "angoractl: cannot initialise libcurl\n");
        return CTL_EXIT_OTHER;
    }
    ctx.args = &args;
    ctx.out = stdout;
    ctx.err = stderr;
    code = ctl_run(&ctx);
    if (fflush(stdout) != 0 && code == CTL_EXIT_OK) {
        fprintf(stderr, "angoractl: cannot write the output\n");
        code = CTL_EXIT_OTHER;
    }
    curl_global_cleanup();
    return code;
}
