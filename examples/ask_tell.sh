#!/bin/sh
# Ask/tell from any language: this one is POSIX sh with curl and jq, nothing else.
#
#   examples/ask_tell.sh [API_URL]        # default http://localhost:8000; a stack without workers will do
#
# Creates an `external` search, then asks for trials until the search is finished: evaluates each one
# (here, a few steps of a made-up training curve computed by jq), reports every step (the pruner may
# say stop) and tells the result. A killed script loses nothing: its trial goes back to the next ask
# once its lease expires.
set -eu

API=${1:-${CAVIAR_API_URL:-http://localhost:8000}}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

post() { # post PATH JSON_BODY -> writes the answer to $WORK/answer.json, prints the HTTP status
    curl -s -o "$WORK/answer.json" -w '%{http_code}' -X POST "$API$1" \
        -H 'content-type: application/json' -d "$2"
}

status=$(post /searches '{
  "name": "shell ask/tell",
  "objective": "external",
  "metric": "loss",
  "direction": "minimize",
  "space": {
    "x": {"type": "float", "low": -2, "high": 2},
    "rate": {"type": "float", "low": 0.05, "high": 1, "scale": "log"}
  },
  "pruner": {"kind": "median", "min_trials": 2},
  "budget": {"max_trials": 8, "max_parallel": 2},
  "seed": 1
}')
[ "$status" = 201 ] || { echo "creating the search failed ($status): $(cat "$WORK/answer.json")" >&2; exit 1; }
search=$(jq -r .id "$WORK/answer.json")
echo "search $search created"

while :; do
    status=$(post "/searches/$search/ask" '{"asker": "ask_tell.sh"}')
    case $status in
        200) ;;
        204) sleep 1; continue ;;                    # every trial is held by someone: ask again
        409) break ;;                                # the search is finished
        *) echo "ask failed ($status): $(cat "$WORK/answer.json")" >&2; exit 1 ;;
    esac
    cp "$WORK/answer.json" "$WORK/trial.json"
    id=$(jq -r .id "$WORK/trial.json")
    attempt=$(jq -r .attempt "$WORK/trial.json")
    state=completed
    for step in 1 2 3 4; do
        # loss(step) = (x - 0.5)² + 1 / (1 + rate · step): your evaluation goes here.
        loss=$(jq --argjson step "$step" '(.params.x - 0.5) * (.params.x - 0.5) + 1 / (1 + .params.rate * $step)' \
            "$WORK/trial.json")
        status=$(post "/trials/$id/report" "{\"attempt\": $attempt, \"step\": $step, \"metrics\": {\"loss\": $loss}}")
        [ "$status" = 200 ] || { state=lost; break; }  # 409: this run's lease expired
        if [ "$(jq -r .should_stop "$WORK/answer.json")" = true ]; then
            state=pruned
            break
        fi
    done
    case $state in
        completed) body="{\"attempt\": $attempt, \"metrics\": {\"loss\": $loss}}" ;;
        pruned) body="{\"attempt\": $attempt, \"state\": \"pruned\"}" ;;
        lost) continue ;;
    esac
    status=$(post "/trials/$id/tell" "$body")
    echo "trial $id: $(jq -c '{state, value}' "$WORK/answer.json") ($status)"
done

curl -s "$API/searches/$search" | jq -c '{id, state, counts: (.counts | with_entries(select(.value > 0))), best: .best.params}'
