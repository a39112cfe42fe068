"""Content planning (内容规划): the topic library fed by operators and by what the audience
asks and buys, the calendar of shows by scenario with monthly targets (target vs actual),
and the KPI targets of each show, with the tenant's defaults, which the live dashboard's
alerts and the post-show report compare against."""
