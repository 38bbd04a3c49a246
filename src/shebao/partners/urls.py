from django.urls import URLPattern, URLResolver, path

from shebao.partners import views

app_name = "partners"

urlpatterns: list[URLPattern | URLResolver] = [
    path("directory/", views.directory_view, name="directory"),
    path("window/", views.window_view, name="window"),
    path("", views.partner_list_view, name="list"),
    path("<int:pk>/", views.partner_detail_view, name="detail"),
    path("<int:pk>/action/", views.partner_action_view, name="action"),
    path("<int:pk>/scopes/", views.partner_scopes_view, name="scopes"),
    path("<int:pk>/points/", views.service_point_create_view, name="point_create"),
    path("<int:pk>/terminals/", views.terminal_issue_view, name="terminal_issue"),
    path(
        "terminals/<int:terminal_pk>/rotate/",
        views.terminal_rotate_view,
        name="terminal_rotate",
    ),
    path("mine/", views.my_partner_view, name="mine"),
]
