# Sourced by scripts/train_speech_en and scripts/train_handwriting_en: their flags, the training
# stage that runs the recipe from scratch or, with --continue, goes on from the published bundle
# with `recognizer finetune` (scripts/continue_run.py), and fine-tuned stages after it. All resume OUT.

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
  if [ "$continue" = 1 ]; then
    recipe_continue "$published" "$recipe" "$out" "$train" "$dev"
    return
  fi
  [ -f "$out/checkpoints/latest" ] && resume=(--resume)
  .venv/bin/recognizer train --config "$recipe" --train "$train" --dev "$dev" --out "$out" "${resume[@]}" || status=$?
  [ "$status" -le 1 ] || exit "$status"
}

# recipe_continue PUBLISHED RECIPE OUT TRAIN DEV: go on from the published bundle's weights with
# RECIPE's options, for the epochs it has left, from the learning rate it had reached (written once
# into OUT/continue.json by scripts/continue_run.py); exit statuses as recipe_train.
recipe_continue() {
  local published=$1 recipe=$2 out=$3 train=$4 dev=$5
  mkdir -p "$out"
  [ -f "$out/continue.json" ] || .venv/bin/python scripts/continue_run.py "$published" "$recipe" "$out/continue.json"
  recipe_finetune "$published" "$published" "$out/continue.json" "$out" "$train" "$dev"
}

# recipe_finetune PUBLISHED BASE OPTIONS OUT TRAIN DEV: fine-tune BASE's weights with OPTIONS (a
# JSON of train and augment sections) into OUT, a bundle named as PUBLISHED, resuming the run OUT
# holds; the model's characters stay even where the data lacks them. Exit statuses as recipe_train.
recipe_finetune() {
  local published=$1 base=$2 options=$3 out=$4 train=$5 dev=$6 resume=() status=0
  [ -f "$out/checkpoints/latest" ] && resume=(--resume)
  .venv/bin/recognizer finetune --model "$base" --config "$options" --keep-alphabet --name "$(basename "$published")" \
    --train "$train" --dev "$dev" --out "$out" "${resume[@]}" || status=$?
  [ "$status" -le 1 ] || exit "$status"
}
