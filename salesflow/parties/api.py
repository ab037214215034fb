from ninja import Router

accounts_router = Router()
contacts_router = Router()
