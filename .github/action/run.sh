#!/usr/bin/env bash
# Runs the consentry command the action was given, keeps its exit code, and writes the job summary.
# Inputs arrive in environment variables (never spliced into this script), so a manifest path or
# argument cannot inject shell code. CONSENTRY_ARGS is split on whitespace on purpose.
# `${extra[@]+...}` because bash 3.2 (macOS) calls an empty array unbound under `set -u`.
set -uo pipefail

command="${CONSENTRY_COMMAND:-validate}"
manifest="${CONSENTRY_MANIFEST:-consentry.yaml}"
format="${CONSENTRY_FORMAT:-github}"
summary="${CONSENTRY_SUMMARY:-true}"
read -r -a extra <<< "${CONSENTRY_ARGS:-}"

case "$command" in
  validate | plan | verify | app-check) ;;
  *) echo "::error title=consentry action::command must be validate, plan, verify or app-check, not '$command'"; exit 2 ;;
esac

report="${RUNNER_TEMP:-/tmp}/consentry-verify.json"
status=0
if [ "$command" = app-check ]; then
  # `app check` reads the registration from Graph: run it once, in Markdown (it has no
  # annotations format), on the log and into the job summary alike.
  [ "$format" = github ] && format=markdown
  out="${RUNNER_TEMP:-/tmp}/consentry-app-check.out"
  consentry app check "$manifest" --format "$format" ${extra[@]+"${extra[@]}"} > "$out" || status=$?
  cat "$out"
  echo "exit-code=$status" >> "${GITHUB_OUTPUT:-/dev/null}"
  if [ "$summary" = true ] && [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    cat "$out" >> "$GITHUB_STEP_SUMMARY"
  fi
  rm -f "$out"
  exit "$status"
fi
if [ "$command" = verify ]; then
  consentry verify "$manifest" --format "$format" --report "$report" ${extra[@]+"${extra[@]}"} || status=$?
else
  consentry "$command" "$manifest" --format "$format" ${extra[@]+"${extra[@]}"} || status=$?
fi
echo "exit-code=$status" >> "${GITHUB_OUTPUT:-/dev/null}"

if [ "$summary" = true ] && [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  case "$command" in
    validate)
      if [ "$status" -eq 0 ]; then
        echo "consentry: \`$manifest\` is valid." >> "$GITHUB_STEP_SUMMARY"
      else
        echo "consentry: \`$manifest\` has problems (exit $status); see the annotations." >> "$GITHUB_STEP_SUMMARY"
      fi
      ;;
    plan)
      # Offline and cheap: the same plan again, as the Markdown checklist with messages to send.
      consentry plan "$manifest" --format markdown ${extra[@]+"${extra[@]}"} >> "$GITHUB_STEP_SUMMARY" || true
      ;;
    verify)
      # The tenants are not asked twice: the summary is planned from the report just written.
      if [ -s "$report" ]; then
        consentry plan "$manifest" --state "$report" --format markdown >> "$GITHUB_STEP_SUMMARY" || true
      fi
      ;;
  esac
fi
exit "$status"
