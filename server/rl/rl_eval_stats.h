/* Summaries of evaluation episodes: the mean of one quantity over N episodes (the return, or a
 * task metric), its sample std and a 95% confidence interval.
 *
 * DESIGN: the interval is Student's t (mean +- t95(N-1) * std / sqrt(N)) for any quantity, except
 * a quantity whose every episode value is exactly 0 or 1 (a success rate), which gets the 95%
 * Wilson score interval: the t interval of 0/1 values is the Wald interval, which collapses to a
 * point at 0 or N successes and leaves [0, 1]. With one episode there is no interval (both ends
 * NaN) and the std is 0, as for the return since the first evaluations. */
#ifndef RL_EVAL_STATS_H
#define RL_EVAL_STATS_H

/* the two-sided 95% normal quantile the Wilson interval uses */
#define RL_Z95 1.959963984540054

typedef struct RlEvalSummary {
    double mean;
    double std;       /* sample std (N - 1), 0 with one episode */
    double low, high; /* 95% interval, NaN with one episode */
    int wilson;       /* 1 when every value was 0 or 1 and the interval is Wilson's */
} RlEvalSummary;

/* two-sided 95% quantile of Student's t with df degrees of freedom (NaN for df < 1) */
double rl_t95(int df);

/* 95% Wilson score interval of `successes` out of n (n >= 1) */
void rl_wilson95(int successes, int n, double *low, double *high);

/* mean and std of values (n >= 1) with the t interval, whatever the values */
void rl_eval_summarize_t(const double *values, int n, RlEvalSummary *out);

/* mean and std of values (n >= 1) with the interval of the rule above */
void rl_eval_summarize(const double *values, int n, RlEvalSummary *out);

#endif
