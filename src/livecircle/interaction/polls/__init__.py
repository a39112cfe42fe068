"""Polls (投票) and questionnaires (实时问卷) in a live room: one ballot per account,
enforced by the database; live results for every viewer; results and CSV export for the
host. A poll is one question with 2–5 options open 15 s to 30 min; a questionnaire has
several questions, choice or free text."""
