import { addViews } from '../web/pages';

// The admin surface's own views (bot/admin/views), rendered with the web edge's layout and headers.
addViews('bot', 'admin', 'views');

export { PAGE_HEADERS, sendPage } from '../web/pages';
