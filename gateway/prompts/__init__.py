"""The voice line's audio prompts: text-to-speech starters (`synth`, `build`), uploaded
recordings made ready for the line (`audio`), which language plays each file (`index`),
and the files served to phones and checkers (`serve`). docs/voice.md, "Prompts"."""
