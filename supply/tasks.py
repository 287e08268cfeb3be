"""Tasks of the supply app: parse primary keys, call one service."""


def plan_run_execute(run_id: int) -> None:
    from supply.services.planning import plan_run_execute as execute

    execute(run_id=run_id)
