"""Identity: users, tenants, roles per tenant, page sessions and API tokens.

Exposes ``service`` (register, sign in, principals), ``deps`` (``CurrentPrincipal``,
``CurrentUser``, ``CsrfChecked``) and ``Principal``/``Role`` in ``schemas``.
"""
