{#- The working day `workdays` working days after the date of calendar row `start_alias`, joined as
    `due_alias` (int_workday_calendar's columns): a deadline in working days (报送 7 days, 异议 5, 修复 3).
    Every calendar day carries the count of working days up to it, so the deadline is the working day
    whose count is `workdays` more, whatever weekends, holidays and 调休 lie in between. -#}
{% macro join_workday_deadline(start_alias, due_alias, workdays, calendar='calendar') -%}
    left join {{ calendar }} as {{ due_alias }}
        on {{ due_alias }}.workday_seq = {{ start_alias }}.workday_seq + {{ workdays }}
        and {{ due_alias }}.is_workday
{%- endmacro %}
