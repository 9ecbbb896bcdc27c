# Reference estimates from R's survival package for tests/test_durations_r.py.
#
# Usage: Rscript survival_reference.R <input.csv> <output-directory> <horizon>
#   input columns: entry, duration, event (0/1), cause and cause12 ("" = censored), group, stratum,
#   x1, x2, w; horizon: of the restricted mean
# Writes, one CSV per estimator (every number with 17 significant digits):
#   km_log-log.csv, km_log.csv  survfit(Surv(entry, duration, event) ~ group, conf.type = ...):
#                               the curve per group, then per group the median with its interval
#                               and the restricted mean to <horizon> with its standard error
#   aj.csv, aj_weighted.csv     multi-state survfit (competing causes), without and with case
#                               weights w: pstate, its infinitesimal-jackknife std.err and the
#                               (default, conf.type = "log") interval; aj12.csv with 12 causes
#   cox_<ties>[_strata].csv     coxph(Surv(entry, duration, event) ~ x1 + x2 [+ strata(stratum)]):
#                               coef, se(coef), log partial likelihood
# One R run gives all of them (starting R takes seconds).
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], stringsAsFactors = FALSE, na.strings = "")
dir <- args[2]
horizon <- as.numeric(args[3])
write17 <- function(x, name) {
  write.csv(format(x, digits = 17), file.path(dir, name), row.names = FALSE, quote = TRUE)
}

for (ct in c("log-log", "log")) {
  fit <- survfit(Surv(entry, duration, event) ~ group, data = d, conf.type = ct)
  grp <- rep(sub("^group=", "", names(fit$strata)), fit$strata)
  curve <- data.frame(part = "curve", group = grp, time = fit$time, n_risk = fit$n.risk,
                      n_event = fit$n.event, surv = fit$surv, std_err = fit$std.err,
                      lower = fit$lower, upper = fit$upper)
  tab <- summary(fit, rmean = horizon)$table
  med <- data.frame(part = "median", group = sub("^group=", "", rownames(tab)), time = tab[, "median"],
                    n_risk = NA, n_event = NA, surv = tab[, "rmean"], std_err = tab[, "se(rmean)"],
                    lower = tab[, "0.95LCL"], upper = tab[, "0.95UCL"])
  write17(rbind(curve, med), paste0("km_", ct, ".csv"))
}

d$id <- seq_len(nrow(d))
for (run in c("aj", "aj_weighted", "aj12")) {
  cause <- if (run == "aj12") d$cause12 else d$cause
  cause <- ifelse(is.na(cause), "(censored)", cause)
  states <- sort(unique(cause[cause != "(censored)"]))
  d$status <- factor(cause, levels = c("(censored)", states))
  fit <- if (run == "aj_weighted") survfit(Surv(entry, duration, status) ~ group, data = d, id = id, weights = w)
         else survfit(Surv(entry, duration, status) ~ group, data = d, id = id)
  grp <- rep(sub("^group=", "", names(fit$strata)), fit$strata)
  rows <- list()
  for (k in seq_along(states)) {
    col <- match(states[k], fit$states)
    rows[[k]] <- data.frame(group = grp, cause = states[k], time = fit$time, estimate = fit$pstate[, col],
                            std_err = fit$std.err[, col], lower = fit$lower[, col], upper = fit$upper[, col])
  }
  write17(do.call(rbind, rows), paste0(run, ".csv"))
}

for (ties in c("efron", "breslow")) {
  for (strat in c(FALSE, TRUE)) {
    f <- if (strat) Surv(entry, duration, event) ~ x1 + x2 + strata(stratum)
         else Surv(entry, duration, event) ~ x1 + x2
    fit <- coxph(f, data = d, ties = ties, control = coxph.control(eps = 1e-14, iter.max = 100))
    write17(data.frame(covariate = names(coef(fit)), coef = unname(coef(fit)),
                       std_err = unname(sqrt(diag(vcov(fit)))), loglik = fit$loglik[2]),
            paste0("cox_", ties, if (strat) "_strata" else "", ".csv"))
  }
}
