# Names vulture cannot see used (vulture parses this file, nothing runs it; ruff does not lint it):
# pydantic hooks, typer commands, record fields read through asdict, a fake simulator's interface.
_.model_config  # pydantic reads it
_._path_for_jsonl  # pydantic validator
_._divisible  # pydantic validator
_._candidates_sampled  # pydantic validator (config/schema.py)
_._idm_reads_y  # pydantic validator (config/schema.py)
_._a_model_it_can_find  # pydantic validator (config/schema.py)
_._fits  # pydantic validator
_._levels_at_least_3  # pydantic validator
_._known_tasks  # pydantic validator
_.demo  # typer command
_.config_show  # typer command (swirl config show)
_.data_generate  # typer command
_.data_import  # typer command (swirl data import)
_.distinct_fraction  # LatentActionStats, written to metrics.json via asdict
_.mean_words  # LatentActionStats, written to metrics.json via asdict
_.get_variations_train  # FakeSimulator in tests/test_scienceworld.py mirrors ScienceWorld's interface
_.get_variations_dev  # idem
_.evaluate  # typer command (swirl eval)
_._distinct_categories  # pydantic validator
_.paw  # typer command (swirl paw)
_._ranges  # pydantic validator (envs/alfworld.py)
_._params_known  # pydantic validator (envs/textworld_express.py)
_._solvable_in_horizon  # pydantic validator (envs/physics_goal.py)
_.quality  # TypedDict field (evaluation/reward_signal.py Group), read by key
_._consistent  # pydantic validator (config/schema.py)
_._renamed  # pydantic validator (data/splits.py)
__getattr__  # module-level lazy exports (swirl_wm/__init__.py, PEP 562)
_.on_evaluate  # transformers TrainerCallback hook (backend/sft.py LearningCurve)
_.on_log  # transformers TrainerCallback hook (backend/completions.py CompletionsTable)
_.pre_tokenizer  # tokenizers.Tokenizer attribute, read by the library (models/loading.py)
_.model_source  # a key of metrics.json (results.py TypedDicts), read by reporting
_.shared_weights  # a key of metrics.json (results.py TypedDicts), read by reporting
_.stage_commits  # a key of metrics.json (results.py TypedDicts), read by reporting
_.checkpoints_removed  # a key of metrics.json (results.py TypedDicts), read by reporting
_.train_log  # a key of metrics.json (results.py TypedDicts), read by reporting
_.nonfinite_scores  # a key of metrics.json (results.py TypedDicts), read by reporting
_.latent_actions  # a key of metrics.json (results.py TypedDicts), read by reporting
_.phase2_check  # a key of metrics.json (results.py TypedDicts), read by reporting
ScienceWorld  # an AgentEnv named by string in envs/registry.py (agent="ScienceWorld")
vocabulary  # StateModality.suppressed_tokens's argument: text constrains nothing (an image modality reads it)
_.handle_starttag  # html.parser.HTMLParser hook (tests/reporting/test_report_tables.py)
_.handle_endtag  # idem
_.handle_data  # idem
_._options  # typer callback (swirl --version)
_.show_version  # its option, handled by an eager callback
_.seconds_per_step  # AgentRl field (results.py), written to the ledger and metrics.json by to_json
_.peak_rss_mb  # idem
_.peak_cuda_mb  # idem
_.push  # typer command (swirl push)
_.on_save  # transformers TrainerCallback hook (backend/sft.py ResumeCheckpoints)
_.on_step_end  # transformers TrainerCallback hook (tests/backend/test_sft.py)
_.on_train_begin  # transformers TrainerCallback hook (recipes/paw.py _DevCurve)
_.pairs_from_phase1  # ledger record of SelfTraining (read back by from_json, checked in tests)
_.pairs_labelled_here  # idem
