// Where a run executes, as the experiment page shows it: the executor and, for Slurm, the job id,
// its state with the reason it waits (PENDING (Resources)) and its nodes. Pure: tested in node.

// [label, text, element id] rows for an experiment object of the API
export function executorFacts(exp) {
    const rows = [["Executor", exp.executor || "local", "fact-executor"]];
    if (exp.executor !== "slurm")
        return rows;
    const state = exp.slurm_state ?
        (exp.slurm_reason ? `${exp.slurm_state} (${exp.slurm_reason})` : exp.slurm_state) :
        "–";
    rows.push(["Slurm job", exp.slurm_job_id || "–", "fact-slurm-job"],
              ["Slurm state", state, "fact-slurm-state"],
              ["Nodes", exp.slurm_nodes || "–", "fact-slurm-nodes"]);
    return rows;
}
