"""Community (社群): groups per brand or host, membership with roles and the show that
brought each member, discussion (posts, comments, likes, reports), activities with sign-up
and the daily check-in task (打卡).

Exposes ``service`` (access_community, check_join, list_my_communities, ...), ``events``
(CommunityJoined, ...) and the routes.
"""
