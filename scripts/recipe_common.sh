# Sourced by scripts/train_speech_en and scripts/train_handwriting_en: their flags, and the
# training stage that runs the recipe from scratch or, with --continue, goes on from the
# published bundle with `recognizer finetune` (scripts/continue_run.py). Both resume OUT.

# recipe_flags SCRIPT ARGS...: sets publish and continue (0 or 1), or exits with the usage
recipe_flags() {
  local script=$1 arg
  shift
  publish=0 continue=0
  for arg in "$@"; do
    case $arg in
      --publish) publish=1 ;;
      --continue) continue=1 ;;
      *) echo "usage: $script [--continue] [--publish]" >&2; exit 2 ;;
    esac
  done
}

# recipe_train PUBLISHED RECIPE OUT TRAIN DEV: train into OUT, resuming the run it holds. Exit
# status 1 means the model was trained but some inputs were skipped (listed in the log, e.g. a
# line too short for its transcript): the recipe goes on to score it; any other failure stops it.
recipe_train() {
  local published=$1 recipe=$2 out=$3 train=$4 dev=$5 resume=() status=0
  [ -f "$out/checkpoints/latest" ] && resume=(--resume)
  if [ "$continue" = 1 ]; then
    mkdir -p "$out"
    [ -f "$out/continue.json" ] || .venv/bin/python scripts/continue_run.py "$published" "$recipe" "$out/continue.json"
    .venv/bin/recognizer finetune --model "$published" --config "$out/continue.json" --name "$(basename "$published")" \
      --train "$train" --dev "$dev" --out "$out" "${resume[@]}" || status=$?
  else
    .venv/bin/recognizer train --config "$recipe" --train "$train" --dev "$dev" --out "$out" "${resume[@]}" || status=$?
  fi
  [ "$status" -le 1 ] || exit "$status"
}
