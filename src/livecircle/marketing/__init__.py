"""Marketing automation: campaigns (a trigger, an audience, a flow of steps with waits and
branches), the scheduler that enrols members and advances them once per step, the guards
every promotional send passes (consent, opt-outs, frequency cap, quiet hours), the hold-out
group and the campaign report with its lift; the churn-recall template.
"""
