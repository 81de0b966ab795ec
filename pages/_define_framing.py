"""The Define page's proposed framing: what the loaded data suggests predicting, and how to judge it."""

from __future__ import annotations

import streamlit as st

from core.explore import baseline_scores, recommend_metric
from core.formatting import escape_markdown, format_percent
from core.metrics import metric_label
from core.project import Project


def framing(project: Project) -> None:
    """What the loaded data suggests: the target, the task, and the metric, with reasons."""
    recipe, profile = project.recipe, project.profile
    if recipe.target and profile.task:
        st.success(f"**Proposed framing:** predict **{escape_markdown(recipe.target)}** — "
                   f"{profile.task.task} classification. {escape_markdown(profile.task.reason)}"
                   if profile.task.task != "regression" else
                   f"**Proposed framing:** predict **{escape_markdown(recipe.target)}** — "
                   f"regression. {escape_markdown(profile.task.reason)}", icon="🧭")
        y = project.frame[recipe.target]
        metric, why = recommend_metric(y, profile.task.task)
        baseline = baseline_scores(y, profile.task.task)
        if profile.task.task == "regression":
            rmse = baseline["scores"]["rmse"]
            st.markdown(f"**Suggested metric: {metric_label(metric)}.** {why} A model that learns "
                        f"nothing predicts {escape_markdown(baseline['predicts'])} and has an "
                        f"RMSE of {rmse:,.4g}: that is the number to beat.")
        else:
            accuracy = baseline["scores"]["accuracy"]
            st.markdown(f"**Suggested metric: {metric_label(metric)}.** {escape_markdown(why)} "
                        f"A model that learns nothing predicts "
                        f"{escape_markdown(baseline['predicts'])} and scores "
                        f"**{format_percent(accuracy)} accuracy**, so accuracy alone says "
                        "little about whether a model is useful.")
        st.caption("Change the target or the task on the Model page.")
    elif recipe.task == "clustering":
        st.info("No target: tabwright will look for groups of similar rows (clustering), "
                "judged by how well separated they are (silhouette).", icon="🧭")
    elif profile.target_suggestions:
        best = profile.target_suggestions[0]
        st.info(f"**Proposed framing:** predict **{escape_markdown(best.column)}** "
                f"({best.task}). {escape_markdown(best.reason)} Choose the target on the Model "
                "page.", icon="🧭")
